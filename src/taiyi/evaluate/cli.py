"""``taiyi eval`` and ``taiyi compare``: the evaluation stage's commands (heavy imports stay inside the bodies)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("compare")(compare_command)


def eval_command(
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or hub id (merged model or base)."),
    adapter: Optional[str] = typer.Option(None, "--adapter", help="LoRA adapter directory applied to --model."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1)."),
    benchmarks: str = typer.Option("all", "--benchmarks", "-b", help="'all' or comma-separated benchmark names."),
    benchmark_set: str = typer.Option("paper", "--benchmark-set", help="paper (13 + BioRED) | demo (mini corpus test splits) | a benchmarks YAML."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Score only the first N documents of each benchmark."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Raw datasets, laid out as ../shared/datasets."),
    eval_dir: Optional[Path] = typer.Option(Path("instructions/eval"), "--eval-dir", help="Prebuilt eval files (used first when present)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report directory (default reports/<model name>)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Untuned base model (dir or hub id) scored beside ours."),
    mc_mode: str = typer.Option("generate", "--mc-mode", help="Multiple choice: generate | loglikelihood."),
    oracle: bool = typer.Option(False, "--oracle", help="Score gold answers in every phrasing (self-check: must be 100)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Prompts generated together."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1, help="Answer budget (default per task)."),
    backend: str = typer.Option("hf", "--backend", help="hf | vllm (ignored with --endpoint)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Score a JSONL of {benchmark, id, answer} made elsewhere (no model run)."),
    export_items: Optional[Path] = typer.Option(None, "--export-items", help="Write the prompts to answer to DIR/<benchmark>.jsonl and stop."),
    reading: str = typer.Option("flexible", "--reading", help="Headline answer reading: flexible (answer cues, markdown, <think> removed) | strict (trained format)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="API key of --endpoint (default $OPENAI_API_KEY)."),
) -> None:
    """Score a model or endpoint on the paper's 13 benchmarks + BioRED; writes predictions, scores, report, chart.

    Re-running into the same --out reuses cached answers (resumable; a re-run only re-scores).

    Example: taiyi eval --model runs/demo/merged --benchmarks all --limit 20 --data-root ../shared/datasets --out reports/demo
    """
    from taiyi.evaluate.report import write_report
    from taiyi.evaluate.runner import EvalConfig, run_eval

    from taiyi.evaluate.extract import READINGS
    from taiyi.infer.engine import EngineError

    if mc_mode not in ("generate", "loglikelihood"):
        raise typer.BadParameter("--mc-mode must be generate or loglikelihood")
    if reading not in READINGS:
        raise typer.BadParameter(f"--reading must be one of {', '.join(READINGS)}")
    offline = oracle or predictions is not None or export_items is not None
    if sum(x is not None and x is not False for x in (oracle or None, predictions, export_items)) > 1:
        raise typer.BadParameter("give at most one of --oracle, --predictions, --export-items")
    if not offline and not (model or adapter or endpoint):
        raise typer.BadParameter("give --model (or --adapter) or --endpoint, or --oracle, --predictions or --export-items")
    if endpoint and adapter:
        raise typer.BadParameter("--adapter does not apply to --endpoint")
    name = "oracle" if oracle else predictions.stem if predictions else \
        Path(str(adapter or model or endpoint or "export").rstrip("/")).name or "endpoint"
    out = out or Path("reports") / name
    common = dict(benchmarks=benchmarks, benchmark_set=benchmark_set, data_root=data_root, eval_dir=eval_dir, limit=limit, mc_mode=mc_mode,
                  batch_size=batch_size, max_new_tokens=max_new_tokens, progress=progress, reading=reading, api_key=api_key)
    try:
        scores = run_eval(EvalConfig(out=out, model=None if offline else model, adapter=None if offline else adapter,
                                     endpoint=None if offline else endpoint, backend=backend, oracle=oracle,
                                     predictions=predictions, export_items=export_items, **common), echo=typer.echo)
        if export_items is not None:
            if scores["skipped"]:
                typer.echo(f"skipped: {scores['skipped']}", err=True)
            typer.echo(f"wrote the items of {len(scores['run']['benchmarks']) - len(scores['skipped'])} benchmark(s) to {export_items}")
            return
        if baseline and not offline:
            typer.echo(f"baseline {baseline}:")
            base = run_eval(EvalConfig(out=out / "baseline", model=baseline, backend=backend, **common), echo=typer.echo)
            scores["baseline"] = base
    except (KeyError, ValueError, FileNotFoundError, EngineError) as exc:
        msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        typer.echo(f"error: {' '.join(msg.split())}", err=True)
        raise typer.Exit(2) from None
    paths = write_report(scores, out)
    if not scores["benchmarks"]:
        typer.echo(f"no benchmark could be scored (skipped: {scores['skipped']})", err=True)
        raise typer.Exit(1)
    fails = {b: r["parse_failures"] for b, r in scores["benchmarks"].items() if r["parse_failures"]}
    typer.echo(f"average {scores['average']:.1f} over {len(scores['benchmarks'])} benchmarks; "
               f"parse failures: {fails or 'none'}")
    typer.echo(f"wrote {paths['scores']}, {paths['report']}, {paths['chart']}")


def compare_command(
    a: str = typer.Option(..., "--a", help="First model (dir or hub id) or endpoint URL (http...)."),
    b: str = typer.Option(..., "--b", help="Second model or endpoint URL."),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="JSONL of {prompt} or {messages}, or a text file (one prompt a line)."),
    benchmarks: Optional[str] = typer.Option(None, "--benchmarks", help="Take prompts from these benchmarks instead."),
    limit: int = typer.Option(5, "--limit", min=1, help="Documents per benchmark (with --benchmarks)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Raw datasets (with --benchmarks)."),
    eval_dir: Optional[Path] = typer.Option(Path("instructions/eval"), "--eval-dir", help="Prebuilt eval files (with --benchmarks)."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", min=1),
    out: Path = typer.Option(Path("compare.html"), "--out", help="The HTML page to write."),
) -> None:
    """Two models' (or endpoints') greedy answers to the same prompts, side by side in one self-contained HTML page.

    Example: taiyi compare --a runs/demo/merged --b Qwen/Qwen2.5-7B-Instruct --benchmarks PubMedQA --data-root ../shared/datasets --out compare.html
    """
    from taiyi.evaluate.compare import compare

    if (prompts is None) == (benchmarks is None):
        raise typer.BadParameter("give exactly one of --prompts or --benchmarks")
    try:
        path = compare(a, b, prompts=prompts, benchmarks=benchmarks, limit=limit, data_root=data_root,
                       eval_dir=eval_dir, max_new_tokens=max_new_tokens, out=out)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}")
