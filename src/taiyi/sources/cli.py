"""Commands of the sources stage: ``taiyi datasets list/show`` (the catalog) and ``taiyi convert``.

Why: one place where users see what the catalog holds and turn raw dataset folders into the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from taiyi.files import DataError

datasets_app = typer.Typer(help="Browse the dataset catalog. Example: taiyi datasets list --lang zh --task ner",
                           no_args_is_help=True)

CATALOG_HELP = ("a folder of catalog YAML files that add or override entries (repeatable; also $TAIYI_CATALOG, "
                "os.pathsep-separated)")


def _catalog(dirs: Optional[list[Path]], *, warn: bool = True):
    """The catalog with the user's folders laid over the packaged one; broken entries are warned about, one line
    each, and the others still work."""
    from taiyi.sources.catalog import load_catalog, use_catalogs

    use_catalogs(dirs or [])
    cat = load_catalog()
    if warn:
        for line in cat.problems():
            typer.echo(f"warning: skipped a broken catalog entry: {line}", err=True)
    return cat


@datasets_app.command("list")
def list_cmd(
    lang: Optional[str] = typer.Option(None, "--lang", help="zh or en (the paper table; zh-en matches too)"),
    task: Optional[str] = typer.Option(None, "--task", help="codec name (ner, re, cls, ...) or paper task code"),
    supported: bool = typer.Option(False, "--supported", help="only datasets with a working reader"),
    include_extra: bool = typer.Option(False, "--include-extra", help="also the datasets outside the paper's 140"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list of the entries"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """List catalog datasets (default: the paper's 140), then the supported count per task and language.

    Example: taiyi datasets list --lang en --task re --supported
    """
    entries = _catalog(catalog).entries(lang=lang, task=task, supported=True if supported else None,
                                     in_paper=None if include_extra else True)
    if as_json:
        typer.echo(json.dumps([e.data for e in entries], ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(entries)} datasets")
    for col in ("name", "lang", "tasks", "schema", "splits", "status", "path"):
        table.add_column(col, overflow="fold")
    for e in entries:
        splits = ", ".join(f"{k} {v:,}" for k, v in e.splits.items())
        table.add_row(e.name, e.lang, " ".join(e.tasks), e.schema, splits,
                      "[green]supported[/]" if e.status == "supported" else "not yet", e.path)
    console = Console()
    console.print(table)
    console.print(coverage_table(entries))


def coverage_table(entries: list):
    """Supported / listed datasets per task (rows) and language (columns), over the entries shown."""
    from collections import Counter

    from rich.table import Table

    langs = sorted({e.lang for e in entries}, key=lambda x: ("zh", "en", "zh-en").index(x) if x in
                   ("zh", "en", "zh-en") else 9)
    total, sup = Counter(), Counter()
    for e in entries:
        for t in e.tasks or ["(none)"]:
            total[t, e.lang] += 1
            sup[t, e.lang] += e.status == "supported"
    table = Table(title=f"supported / listed, per task and language ({sum(e.status == 'supported' for e in entries)}"
                        f" of {len(entries)} datasets supported)")
    table.add_column("task")
    for lang in langs:
        table.add_column(lang, justify="right")
    for task in sorted({t for t, _ in total}):
        table.add_row(task, *[f"{sup[task, lg]} / {total[task, lg]}" if total[task, lg] else "" for lg in langs])
    table.add_row("[bold]datasets[/]", *[f"{sum(e.status == 'supported' for e in entries if e.lang == lg)} / "
                                         f"{sum(e.lang == lg for e in entries)}" for lg in langs])
    return table


@datasets_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="dataset name as in the catalog"),
    as_json: bool = typer.Option(False, "--json", help="print the entry as JSON"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Show one catalog entry.

    Example: taiyi datasets show bc5cdr
    """
    try:
        entry = _catalog(catalog, warn=False).get(name)
    except KeyError as exc:
        typer.echo(f"error: {str(exc).strip(chr(34) + chr(39))}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(entry.data, ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=entry.name, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in entry.data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        table.add_row(key, str(value))
    table.add_row("download", _download_line(entry))
    Console().print(table)


def _download_line(entry) -> str:
    """What `taiyi datasets download` would do for the entry."""
    from taiyi.sources import download as dl

    try:
        pin = dl.load_pin(entry)
    except DataError as exc:
        return f"broken pin: {exc}"
    if pin is None:
        return "no pinned download"
    if pin.access == "credentialed":
        return f"credentialed: {pin.how}"
    n = sum(len(j.members) or 1 for j in dl.jobs(pin))
    return f"{n} file(s) pinned from " + ", ".join(f"{s.repo}@{s.commit[:8]}" for s in pin.sources)


@datasets_app.command("download")
def download_cmd(
    names: Optional[list[str]] = typer.Argument(None, help="catalog dataset names"),
    all_: bool = typer.Option(False, "--all", help="every dataset with a pinned download (credentialed ones: how "
                              "to obtain them)"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="where files go (<dir>/datasets/<path>/); "
                                             "default $TAIYI_CACHE or ~/.cache/taiyi"),
    mirror: Optional[str] = typer.Option(None, "--mirror", envvar="TAIYI_DOWNLOAD_MIRROR",
                                         help="a server laid out like the data root, used instead of the origins"),
    workers: int = typer.Option(4, "--workers", min=1, help="parallel transfers"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Download public datasets from their origins, pinned to a commit and checked by sha256 (resumable).

    Example: taiyi datasets download bc5cdr ncbi_disease && taiyi convert --all --input-root ~/.cache/taiyi/datasets
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from taiyi.sources import download as dl

    if bool(names) == all_:
        typer.echo("give dataset names or --all", err=True)
        raise typer.Exit(2)
    cat = _catalog(catalog, warn=all_)
    try:
        entries = [cat.get(n) for n in names] if names else cat.entries()
    except KeyError as exc:
        typer.echo(f"error: {str(exc).strip(chr(34) + chr(39))}", err=True)
        raise typer.Exit(2)
    if all_:
        by_path = {}
        for e in entries:
            if dl.pin_file(e.path).is_file():
                by_path.setdefault(e.path, e)
        entries = list(by_path.values())
    cache = cache_dir or dl.default_cache()
    console, errors, done = Console(stderr=True), [], []
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[mb]:>8.1f} MB"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        for e in entries:
            try:
                pin = dl.load_pin(e)
                n = sum(len(j.members) or 1 for j in dl.jobs(pin, mirror)) if pin and pin.access == "public" else 0
                task = bar.add_task(e.name, total=n, mb=0.0)
                res = dl.download(e, cache, mirror=mirror, workers=workers,
                                  progress=lambda _n, k, b, t=task: bar.update(t, completed=k, mb=b / 1e6))
            except dl.CredentialedError as exc:
                console.print(f"[yellow]credentialed[/] {exc}", highlight=False, soft_wrap=True)
                continue
            except DataError as exc:
                errors.append(str(exc))
                continue
            errors += list(res.failed[:3]) + ([f"{e.name}: … and {len(res.failed) - 3} more failure(s)"]
                                              if len(res.failed) > 3 else [])
            done.append(res)
            if pin.not_pinned:
                console.print(f"[dim]{e.name}: {len(pin.not_pinned)} file(s) of the reference copy have no pinned "
                              f"origin ({next(iter(pin.not_pinned.values()))})[/]", highlight=False, soft_wrap=True)
    fetched, cached = sum(r.fetched for r in done), sum(r.cached for r in done)
    typer.echo(f"downloaded {fetched} file(s) ({sum(r.bytes for r in done) / 1e6:.1f} MB), {cached} already in the "
               f"cache, for {len(done)} dataset(s); data root {cache / 'datasets'} "
               f"(taiyi convert --all --input-root {cache / 'datasets'})")
    for line in errors:
        typer.echo(f"error: {line}", err=True)
    if errors:
        raise typer.Exit(1)


def convert_cmd(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="one catalog dataset name"),
    input_dir: Optional[Path] = typer.Option(None, "--input", help="the dataset's own folder (with --dataset)"),
    all_: bool = typer.Option(False, "--all", help="every catalog dataset found under --input-root"),
    input_root: Optional[Path] = typer.Option(None, "--input-root", help="data root laid out like ../shared/datasets"),
    mini: bool = typer.Option(False, "--mini", help="the embedded mini corpus shipped with taiyi"),
    out: Path = typer.Option(Path("corpus"), "--out", help="corpus output folder"),
    parquet: bool = typer.Option(False, "--parquet", help="also write <split>.parquet beside each <split>.jsonl"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help=CATALOG_HELP),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="accept empty input files and splits with no "
                                     "records (refused by default: they would delete that split)"),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="with --all: skip a dataset whose folder is "
                                      "present but a file is missing (by default that is an error)"),
) -> None:
    """Convert raw dataset files into the unified corpus (corpus/<dataset>/<split>.jsonl + manifest.json).

    Example: taiyi convert --all --input-root ../shared/datasets --out corpus/
    """
    from taiyi.files import DataError
    from taiyi.sources import convert

    modes = sum([bool(dataset), all_, mini])
    if modes != 1:
        typer.echo("give exactly one of --dataset NAME, --all or --mini", err=True)
        raise typer.Exit(2)
    try:
        _catalog(catalog, warn=all_)
        if mini:
            convert.convert_mini(out, parquet=parquet)
        elif all_:
            if input_root is None:
                typer.echo("--all needs --input-root DIR", err=True)
                raise typer.Exit(2)
            convert.convert_all(input_root, out, parquet=parquet, allow_empty=allow_empty,
                                skip_missing=skip_missing)
        else:
            if input_dir is None:
                typer.echo("--dataset needs --input DIR (the dataset's folder)", err=True)
                raise typer.Exit(2)
            convert.convert_dataset(dataset, input_dir, out, parquet=parquet, allow_empty=allow_empty)
    except (DataError, FileNotFoundError, KeyError) as exc:
        typer.echo(f"error: {str(exc).strip(chr(34) + chr(39))}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
    app.command("convert")(convert_cmd)
