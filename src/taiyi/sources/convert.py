"""``taiyi convert``: raw dataset folders -> validated corpus (``corpus/<dataset>/<split>.jsonl``).

Why: the one command a researcher runs after downloading datasets. For each catalog entry it runs the
entry's reader on ``<data root>/<path>``, stamps ``dataset``/``lang`` from the catalog, validates every
record (taiyi.corpus.schema), and writes the corpus atomically with a manifest (inputs + sha256, counts,
version). Datasets whose files are absent are skipped with a one-line reason. Converted counts are compared with
the catalog's published split sizes; each difference is one warning line (``taiyi.sources.counts``).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError, atomic_dir, dumps, manifest, read_json, sha256_file, write_json
from taiyi.sources import counts as count_check
from taiyi.sources.catalog import MINI_ROOT, Catalog, Entry, load_catalog, load_mini_catalog
from taiyi.sources.registry import get_reader

SPLIT_ORDER = ("train", "dev", "test", "test_unlabelled")


class NotSupportedError(RuntimeError):
    """The catalog entry has no working reader yet (status not_yet)."""


def read_dataset(name: str, data_root: str | Path, *, catalog: Catalog | None = None) -> dict[str, list[dict]]:
    """Records of one catalog dataset by split, read from ``data_root/<entry.path>`` (validated)."""
    entry = (catalog or load_catalog()).get(name)
    return read_entry(entry, Path(data_root) / entry.path)


def read_entry(entry: Entry, folder: Path, *, allow_empty: bool = False) -> dict[str, list[dict]]:
    """Run the entry's reader on ``folder`` (the dataset's own folder); validates and groups by split.

    An empty input file, or a split file that yields no records (empty or header-only), is an error unless
    ``allow_empty``: read silently, it would delete that split from the corpus."""
    if entry.status != "supported":
        raise NotSupportedError(f"{entry.name}: not yet supported ({entry.why or 'no reader'})")
    if not folder.is_dir():
        raise FileNotFoundError(f"{entry.name}: folder {folder} not found")
    if not allow_empty:
        _check_not_empty(entry, folder)
    reader = get_reader(entry.reader_name)
    by_split: dict[str, list[dict]] = defaultdict(list)
    for rec in reader(folder, **entry.reader_options):
        rec["dataset"] = entry.name
        rec["lang"] = entry.lang
        by_split[rec["split"]].append(rec)
    if not allow_empty:  # first: it names the file that gave nothing
        _check_splits_present(entry, folder, by_split)
    if not by_split:
        raise DataError(f"{entry.name}: reader {entry.reader_name!r} produced no records from {folder}")
    everything = [r for recs in by_split.values() for r in recs]
    assert_valid(everything, source=f"{entry.name} ({folder})")
    return {s: by_split[s] for s in sorted(by_split, key=_split_key)}


def _check_not_empty(entry: Entry, folder: Path) -> None:
    for path in input_paths(entry, folder):
        if path.is_file() and (path.stat().st_size == 0 or path.stat().st_size < 4096 and not path.read_bytes().strip()):
            raise DataError(f"{path}: empty file (dataset {entry.name}); pass --allow-empty if that is intended")


def _check_splits_present(entry: Entry, folder: Path, by_split: dict[str, list[dict]]) -> None:
    """Every split the reader options name a present file for must yield records."""
    files = entry.reader_options.get("files")
    if not isinstance(files, dict):
        return
    for split, rel in files.items():
        if split not in SPLIT_ORDER:  # keys that are not splits (translation directions, file roles)
            continue
        named = [folder / r for r in _strings(rel)]
        present = [p for p in named if p.exists()]
        produced = by_split.get(split) or (split == "test" and by_split.get("test_unlabelled"))
        if present and not produced:
            raise DataError(f"{present[0]}: no records for split {split!r} of {entry.name} (an empty or header-only "
                            "file?); pass --allow-empty if that is intended")


def _named_inputs(entry: Entry, folder: Path) -> list[Path]:
    """Files and folders the reader options name (strings with a file suffix or a slash)."""
    return [folder / v for v in _strings(entry.reader_options) if "/" in v or Path(v).suffix[1:].isalnum()]


def _missing_inputs(entry: Entry, folder: Path) -> list[Path]:
    return [p for p in _named_inputs(entry, folder) if not p.exists()]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _split_key(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def input_paths(entry: Entry, folder: Path) -> list[Path]:
    """Files and folders the entry's reader options name (for the manifest); the whole folder if none."""
    found = list(dict.fromkeys(folder / v for v in _strings(entry.reader_options) if v and (folder / v).exists()))
    return found or [folder]


def _dir_input(path: Path) -> dict:
    """A folder as one manifest input: sha256 over (relative path, file sha256) of its files, sorted."""
    h, n, size = hashlib.sha256(), 0, 0
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}\0{sha256_file(f)}\n".encode())
        n += 1
        size += f.stat().st_size
    return {"path": str(path), "sha256": h.hexdigest(), "bytes": size, "files": n}


def _inputs(paths: Iterable[Path]) -> list[dict]:
    out = []
    for p in paths:
        if p.is_dir():
            out.append(_dir_input(p))
        else:
            out.append({"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size})
    return out


def _write_dataset(entry: Entry, splits: dict[str, list[dict]], dest: Path, parquet: bool) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for split, recs in splits.items():
        with open(dest / f"{split}.jsonl", "wb") as fh:
            fh.write(b"".join(dumps(r) + b"\n" for r in recs))
        if parquet:
            from taiyi.corpus.parquet import write_parquet

            write_parquet(recs, dest / f"{split}.parquet")
    write_json(dest / "meta.json", entry.data)


def convert_all(input_root: str | Path, out: str | Path, names: Iterable[str] | None = None, progress: bool = True,
                *, catalog: Catalog | None = None, parquet: bool = False, allow_empty: bool = False,
                skip_missing: bool = False) -> dict:
    """Convert every catalog dataset present under ``input_root`` into ``out`` (replaced atomically).

    Returns ``{"converted": {name: {split: n}}, "skipped": {name: reason}, "seconds": s, "records": n,
    "count_check": {name: [rows of counts.compare]}}``.
    """
    catalog = catalog or load_catalog()
    input_root, out = Path(input_root), Path(out)
    if not input_root.is_dir():
        raise FileNotFoundError(f"input root {input_root} not found")
    wanted = set(names) if names is not None else None
    if wanted:
        for n in wanted:
            catalog.get(n)  # unknown names fail early with a hint
    entries = [e for e in catalog.entries() if wanted is None or e.name in wanted]
    converted: dict[str, dict[str, int]] = {}
    skipped: dict[str, str] = {n: f"broken catalog entry: {why}" for n, why in catalog.broken.items() if wanted is None}
    inputs: dict[str, list[dict]] = {}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with atomic_dir(out) as tmp, _progress(progress, len(entries)) as advance:
        for entry in entries:
            folder = input_root / entry.path
            advance(entry.name)
            if entry.status != "supported":
                skipped[entry.name] = f"not yet supported: {entry.why or 'no reader'}"
                continue
            if not folder.is_dir():
                skipped[entry.name] = f"files absent: folder {folder} not found"
                continue
            named = _named_inputs(entry, folder)
            if named and not any(p.exists() for p in named):  # none of its files here: absent, not damaged
                skipped[entry.name] = f"files absent: none of {[str(p.relative_to(folder)) for p in named]} in {folder}"
                continue
            t1 = time.perf_counter()
            try:
                splits = read_entry(entry, folder, allow_empty=allow_empty)
            except (FileNotFoundError, DataError) as exc:
                if not (isinstance(exc, FileNotFoundError) or _missing_inputs(entry, folder)):
                    raise
                if not skip_missing:  # one rule for a missing file: an error, unless asked to skip
                    raise DataError(f"{entry.name}: {' '.join(str(exc).split())}; nothing was written (pass "
                                    f"--skip-missing to convert the other datasets without it)") from None
                skipped[entry.name] = f"missing file: {' '.join(str(exc).split())}"
                continue
            _write_dataset(entry, splits, tmp / entry.name, parquet)
            converted[entry.name] = {s: len(r) for s, r in splits.items()}
            inputs[entry.name] = _inputs(input_paths(entry, folder))
            timings[entry.name] = time.perf_counter() - t1
        seconds = time.perf_counter() - t0
        checks = count_check.check_all({e.name: e for e in entries}, converted)
        summary = {"converted": converted, "skipped": skipped, "seconds": round(seconds, 3),
                   "records": sum(sum(c.values()) for c in converted.values()), "count_check": checks}
        m = manifest("convert", [], config={"input_root": str(input_root), "names": sorted(wanted) if wanted else None,
                                            "parquet": parquet}, counts=converted, skipped=skipped, count_check=checks)
        m["inputs"] = [dict(i, dataset=name) for name, ins in inputs.items() for i in ins]
        write_json(tmp / "manifest.json", m)
    if progress:
        print_summary(summary, timings)
    return summary


def convert_dataset(name: str, input_dir: str | Path, out: str | Path, *, catalog: Catalog | None = None,
                    parquet: bool = False, progress: bool = True, allow_empty: bool = False) -> dict[str, int]:
    """Convert one dataset from its own folder into ``out/<name>/``; merges its entry into ``out/manifest.json``."""
    catalog = catalog or load_catalog()
    entry = catalog.get(name)
    folder, out = Path(input_dir), Path(out)
    t0 = time.perf_counter()
    splits = read_entry(entry, folder, allow_empty=allow_empty)
    with atomic_dir(out / entry.name) as tmp:
        _write_dataset(entry, splits, tmp, parquet)
    counts = {s: len(r) for s, r in splits.items()}
    checks = count_check.check_all({entry.name: entry}, {entry.name: counts})
    mpath = out / "manifest.json"
    old = read_json(mpath) if mpath.exists() else {}
    all_counts = dict(old.get("counts", {}), **{entry.name: counts})
    all_checks = {k: v for k, v in old.get("count_check", {}).items() if k != entry.name} | checks
    old_inputs = [i for i in old.get("inputs", []) if i.get("dataset") != entry.name]
    m = manifest("convert", [], config={"input_dir": str(folder), "dataset": entry.name, "parquet": parquet},
                 counts=all_counts, skipped={k: v for k, v in old.get("skipped", {}).items() if k != entry.name},
                 count_check=all_checks)
    m["inputs"] = old_inputs + [dict(i, dataset=entry.name) for i in _inputs(input_paths(entry, folder))]
    write_json(mpath, m)
    if progress:
        print_summary({"converted": {entry.name: counts}, "skipped": {}, "seconds": round(time.perf_counter() - t0, 3),
                       "records": sum(counts.values()), "count_check": checks}, {entry.name: time.perf_counter() - t0})
    return counts


def convert_mini(out: str | Path, *, parquet: bool = False, progress: bool = True) -> dict:
    """Convert the embedded mini corpus (``taiyi/sources/mini``) with its own catalog."""
    return convert_all(MINI_ROOT, out, progress=progress, catalog=load_mini_catalog(), parquet=parquet)


class _progress:
    """A rich progress bar over datasets (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.bar, self.task = enabled, total, None, None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("converting {task.fields[name]:<30}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task("convert", total=self.total, name="")
        return self.advance

    def advance(self, name: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, name=name)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


def print_summary(summary: dict, timings: dict[str, float] | None = None) -> None:
    """The end-of-run table: records per split for each converted dataset, then the skip reasons."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"converted {len(summary['converted'])} dataset(s), {summary['records']:,} records "
                        f"in {summary['seconds']:.1f} s")
    splits = sorted({s for c in summary["converted"].values() for s in c}, key=_split_key)
    table.add_column("dataset")
    for s in splits:
        table.add_column(s, justify="right")
    table.add_column("seconds", justify="right")
    for name, counts in summary["converted"].items():
        table.add_row(name, *[f"{counts[s]:,}" if s in counts else "" for s in splits],
                      f"{(timings or {}).get(name, 0):.2f}")
    console.print(table)
    checks = summary.get("count_check", {})
    for name, rows in checks.items():
        for accepted, line in count_check.report_lines(name, rows):
            console.print(f"[dim]count {line}[/]" if accepted else f"[yellow]count differs[/] {line}",
                          highlight=False, soft_wrap=True)
    if summary["converted"]:
        console.print(count_check.summary_line(summary["converted"], checks), highlight=False, soft_wrap=True)
    not_yet = [n for n, r in summary["skipped"].items() if r.startswith("not yet supported")]
    for name, reason in summary["skipped"].items():
        if not reason.startswith("not yet supported"):
            console.print(f"[yellow]skipped[/] {name}: {reason}")
    if not_yet:
        console.print(f"[dim]skipped {len(not_yet)} catalog dataset(s) not yet supported "
                      f"(see `taiyi datasets list`)[/]")
