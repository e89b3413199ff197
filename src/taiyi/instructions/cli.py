"""Commands of the instructions stage: ``taiyi build`` and ``taiyi instructions import-taiyi / export-taiyi /
export-llamafactory / benchmarks``.

Why: one entry point from a converted corpus to the training and evaluation files, and to other formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

instructions_app = typer.Typer(
    help="Convert instruction files to and from other formats. Example: taiyi instructions export-llamafactory instructions/ lf/",
    no_args_is_help=True,
)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def build_cmd(
    config: Optional[str] = typer.Option(None, "--config", "-c", help="build config YAML, or a packaged one: paper | demo (default: paper's defaults)"),
    corpus: Path = typer.Option(Path("corpus"), "--corpus", help="converted corpus directory (taiyi convert)"),
    out: Path = typer.Option(Path("instructions"), "--out", "-o", help="output directory (replaced atomically)"),
    num_proc: int = typer.Option(1, "--num-proc", "-j", help="worker processes (one dataset per task)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="override the config's seed"),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="target tokenizer path or hub id for the token budget (default: fast estimate)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
    shard_records: Optional[int] = typer.Option(None, "--shard-records", help="write stage<N>-00000-of-000NN.jsonl shards of this many records (default: the config's shard_records; none: one file per stage)"),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="write the output even when it holds no training "
                                     "instruction (by default that is an error and the old output is kept)"),
) -> None:
    """Build two-stage training instructions, evaluation files, stats.md and manifest.json from a corpus.

    Example: taiyi build --config paper --corpus corpus/ --out instructions/ --num-proc 4
    """
    from taiyi.files import DataError
    from taiyi.instructions.build import build

    try:
        man = build(config, corpus, out, num_proc=num_proc, seed=seed, tokenizer=tokenizer, progress=not quiet,
                    allow_empty=allow_empty, shard_records=shard_records)
    except (DataError, ValueError, FileNotFoundError) as exc:
        _fail(exc)
    st = man["stats"]
    totals = ", ".join(f"stage {s}: {v['total']:,}" for s, v in st["stages"].items())
    dropped = sum(st["dropped"].values())
    typer.echo(f"wrote {out}: {totals}; eval sets: {len(st['eval_items'])}; dropped {dropped:,} "
               f"({', '.join(f'{k} {v:,}' for k, v in st['dropped'].items()) or 'none'}); see {out / 'stats.md'}")


@instructions_app.command("import-taiyi")
def import_taiyi_cmd(
    src: Path = typer.Argument(..., help="JSONL in Taiyi's released format"),
    dst: Path = typer.Argument(..., help="output JSONL (our instruction records)"),
) -> None:
    """Import Taiyi's released instruction format (conversation_id, dataset, category, language, conversation).

    Example: taiyi instructions import-taiyi taiyi_instruction_data.jsonl instructions/taiyi.jsonl
    """
    from taiyi.files import DataError
    from taiyi.instructions.interop import import_taiyi

    try:
        n = import_taiyi(src, dst)
    except DataError as exc:
        _fail(exc)
    typer.echo(f"imported {n:,} conversations into {dst}")


@instructions_app.command("export-taiyi")
def export_taiyi_cmd(
    src: Path = typer.Argument(..., help="our instruction JSONL (e.g. instructions/stage2.jsonl)"),
    dst: Path = typer.Argument(..., help="output JSONL in Taiyi's released format"),
) -> None:
    """Export our instructions to Taiyi's released format.

    Example: taiyi instructions export-taiyi instructions/stage2.jsonl taiyi_format.jsonl
    """
    from taiyi.files import DataError
    from taiyi.instructions.interop import export_taiyi

    try:
        n = export_taiyi(src, dst)
    except DataError as exc:
        _fail(exc)
    typer.echo(f"exported {n:,} conversations to {dst}")


@instructions_app.command("export-llamafactory")
def export_llamafactory_cmd(
    src_dir: Path = typer.Argument(..., help="instructions directory written by taiyi build"),
    dst_dir: Path = typer.Argument(..., help="output directory: dataset_info.json + data files"),
    prefix: str = typer.Option("taiyi", "--prefix", help="dataset name prefix in dataset_info.json"),
) -> None:
    """Export an instructions directory for LLaMA-Factory (dataset_info.json, sharegpt 'messages' format).

    Example: taiyi instructions export-llamafactory instructions/ lf_data/  (then dataset_dir: lf_data, dataset: taiyi_stage1)
    """
    from taiyi.files import DataError
    from taiyi.instructions.interop import export_llamafactory

    try:
        info = export_llamafactory(src_dir, dst_dir, prefix=prefix)
    except DataError as exc:
        _fail(exc)
    typer.echo(f"wrote {dst_dir}/dataset_info.json with {len(info)} datasets: {', '.join(info)}")


@instructions_app.command("benchmarks")
def benchmarks_cmd() -> None:
    """List the held-out evaluation sets (the paper's 13 + BioRED zero-shot).

    Example: taiyi instructions benchmarks
    """
    from taiyi.instructions.benchmarks import load_benchmarks

    for b in load_benchmarks().values():
        types = ",".join(b.types) if b.types else "all"
        typer.echo(f"{b.name:14s} {b.dataset}/{b.split:5s} {b.task:5s} {b.lang} {b.metric:9s} types={types}"
                   + (" zero-shot" if b.zero_shot else ""))


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
    app.add_typer(instructions_app, name="instructions")
