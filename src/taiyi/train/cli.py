"""``taiyi train`` and ``taiyi merge``: the training stage's commands (heavy imports stay inside the bodies)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("merge")(merge_command)


def train_command(
    config: Path = typer.Option(..., "--config", "-c", help="Recipe YAML (see recipes/)."),
    stage: str = typer.Option("all", "--stage", help="stage1 | stage2 | all (stage2 continues the stage-1 adapter)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last complete checkpoint (same data order); finished stages are skipped."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over, replacing an existing run's checkpoints and outputs (never done without this flag)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a recipe key, dotted: --set stages.stage1.epochs=1 (repeatable)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", "-j", help="Processes that tokenize a stage into its token cache (default: the recipe's num_proc)."),
) -> None:
    """Two-stage (Q)LoRA instruction tuning; writes runs/<name>/<stage>/{adapter/, train_log.jsonl, loss.png, config.yaml}.

    Multi-GPU / multi-node: accelerate launch --config_file recipes/accelerate/deepspeed_zero2.yaml -m taiyi.train --config ...

    A kill never costs more than the steps since the last complete checkpoint: rerun with --resume. Rerunning
    without --resume refuses to touch an existing run unless --overwrite is given.

    Example: taiyi train --config recipes/taiyi-qwen2.5-7b.yaml --stage all --set base_model=/models/Qwen2.5-7B
    """
    from taiyi.files import DataError
    from taiyi.train.recipe import STAGES, load_recipe, parse_set_options
    from taiyi.train.trainer import run_training

    if stage not in (*STAGES, "all"):
        raise typer.BadParameter("--stage must be stage1, stage2 or all")
    try:
        overrides = parse_set_options(set_)
        if num_proc is not None:
            overrides["num_proc"] = num_proc
        recipe = load_recipe(config, overrides)
        paths = run_training(recipe, stages=None if stage == "all" else (stage,), resume=resume,
                             overwrite=overwrite, progress=progress)
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for key in STAGES:
        if key in paths:
            typer.echo(f"{key}: {paths[key].get('adapter') or paths[key].get('model')}")
    if "merged" in paths:
        typer.echo(f"merged: {paths['merged']}")


def merge_command(
    adapter: Path = typer.Option(..., "--adapter", help="LoRA adapter directory (e.g. runs/<name>/stage2/adapter)."),
    out: Path = typer.Option(..., "--out", help="Output model directory (written atomically)."),
    base: Optional[str] = typer.Option(None, "--base", help="Full-precision base model (hub id or path); default: the one the adapter records."),
    dtype: str = typer.Option("bfloat16", "--dtype", help="bfloat16 | float32 (never 4-bit)."),
) -> None:
    """Merge an adapter into its bf16/fp32 base and save a model dir that transformers and vLLM load as is.

    Example: taiyi merge --base Qwen/Qwen2.5-7B --adapter runs/taiyi-qwen2.5-7b/stage2/adapter --out runs/taiyi-qwen2.5-7b/merged
    """
    from taiyi.files import DataError
    from taiyi.train.merge import DTYPES, merge_adapter

    if dtype not in DTYPES:
        raise typer.BadParameter(f"--dtype must be one of {', '.join(DTYPES)}")
    try:
        path = merge_adapter(base, adapter, out, dtype=dtype)
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"merged: {path}")
