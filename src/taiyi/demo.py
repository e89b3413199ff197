"""``taiyi demo``: the whole pipeline on the embedded mini corpus with a tiny model, on a CPU, in minutes.

Why: the first thing a new user runs. It must show every stage working — convert -> build -> two-stage
training -> evaluation of the stage-1 and stage-2 models on a held-out set -> chat — and leave files worth
opening (``demo-output/report.md`` with loss curves and score charts). It calls the same Python entry points
as the stage commands, so what works here works at full size with the real datasets and a Qwen base.

The bar it checks (issue: "shows that the model learned"): after stage 2 the parse-failure rate on the held-out
demo set is at most 10 % and the extraction F1 is above zero. It exits non-zero when the bar is missed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

REPO_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "demo-tiny.yaml"
MAX_PARSE_FAILURE_RATE = 0.10
EXTRACTION_TASKS = ("ner", "re")
ANSWER_TOKENS = 192  # the mini corpus answers are short; an untrained model would otherwise run to the task default

# The CI-sized run (tests/test_demo.py): the same stages on fewer prompts, a smaller model and one epoch each.
QUICK_BUILD = {"prompts_per_record": 1}
QUICK_RECIPE = {"tiny_model.size": "tiny", "stages.stage1.epochs": 1, "stages.stage2.epochs": 1, "max_length": 384}


@dataclass
class DemoResult:
    out: Path
    seconds: dict[str, float] = field(default_factory=dict)
    scores: dict[str, dict] = field(default_factory=dict)  # stage -> scores document of taiyi eval
    parse_failure_rate: float = 1.0
    extraction_f1: float = 0.0
    chat: tuple[str, str] = ("", "")
    report: Path | None = None

    @property
    def passed(self) -> bool:
        return self.parse_failure_rate <= MAX_PARSE_FAILURE_RATE and self.extraction_f1 > 0


def _say(console, msg: str) -> None:
    console.print(msg, highlight=False)


def run_demo(out: str | Path = "demo-output", *, recipe: str | Path | None = None, quick: bool = False,
             progress: bool = True) -> DemoResult:
    """Run every stage into ``out`` and return the figures; see the module docstring."""
    from rich.console import Console

    from taiyi.evaluate.report import write_report
    from taiyi.evaluate.runner import EvalConfig, run_eval
    from taiyi.infer.engine import load_engine
    from taiyi.instructions.build import build
    from taiyi.instructions.config import load_config
    from taiyi.sources.convert import convert_mini
    from taiyi.train.recipe import load_recipe
    from taiyi.train.trainer import run_training

    console = Console(stderr=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = DemoResult(out=out)
    recipe = Path(recipe or REPO_RECIPE)
    if not recipe.is_file():
        raise FileNotFoundError(f"demo recipe {recipe} not found (it ships in the repository's recipes/ folder)")

    def step(name: str, title: str):
        _say(console, f"\n[bold cyan]▶ {title}[/bold cyan]")
        return name, time.perf_counter()

    name, t0 = step("convert", "1/6 convert the embedded mini corpus (taiyi convert --mini)")
    convert_mini(out / "corpus", progress=progress)
    res.seconds[name] = time.perf_counter() - t0

    name, t0 = step("build", "2/6 build two-stage instructions + held-out eval files (taiyi build --config demo)")
    cfg = load_config("demo")
    for key, value in (QUICK_BUILD if quick else {}).items():
        setattr(cfg, key, value)
    build(cfg, out / "corpus", out / "instructions", progress=progress)
    res.seconds[name] = time.perf_counter() - t0

    name, t0 = step("train", "3/6 train a tiny Qwen2 through stage 1 and stage 2 on CPU (taiyi train)")
    overrides: dict[str, Any] = {
        "output_dir": str(out / "runs"),
        "stages.stage1.data": str(out / "instructions" / "stage1.jsonl"),
        "stages.stage2.data": str(out / "instructions" / "stage2.jsonl"),
        **(QUICK_RECIPE if quick else {}),
    }
    rec = load_recipe(recipe, overrides)
    paths = run_training(rec, progress=progress, overwrite=True)  # the demo rebuilds its own folder
    res.seconds[name] = time.perf_counter() - t0
    models = {stage: _stage_model(paths[stage]) for stage in ("stage1", "stage2")}

    name, t0 = step("eval", "4/6 evaluate the stage-1 and stage-2 models on the held-out demo set (taiyi eval)")
    engines = {}  # the stage-2 model stays loaded for the chat answer
    try:
        for stage, model in models.items():
            engines[stage] = load_engine(model)
            cfg_eval = EvalConfig(out=out / "eval" / stage, model=model, benchmark_set="demo",
                                  eval_dir=out / "instructions" / "eval", progress=progress, batch_size=32,
                                  max_new_tokens=ANSWER_TOKENS)
            scores = run_eval(cfg_eval, engine=engines[stage], echo=lambda s: _say(console, f"  [{stage}] {s}"))
            write_report(scores, out / "eval" / stage, name=f"demo {stage}")
            res.scores[stage] = scores
            if stage != "stage2":
                engines.pop(stage).close()
        res.seconds[name] = time.perf_counter() - t0

        name, t0 = step("chat", "5/6 one chat answer from the stage-2 model (taiyi chat --once)")
        res.chat = _one_chat_answer(engines["stage2"], out / "instructions" / "eval")
        res.seconds[name] = time.perf_counter() - t0
    finally:
        for engine in engines.values():
            engine.close()

    final = res.scores["stage2"]["benchmarks"]
    items = sum(b["n_items"] for b in final.values())
    res.parse_failure_rate = sum(b["parse_failures"] for b in final.values()) / max(items, 1)
    extraction = [b["score"] for b in final.values() if b["task"] in EXTRACTION_TASKS]
    res.extraction_f1 = sum(extraction) / len(extraction) if extraction else 0.0

    _say(console, "\n[bold cyan]▶ 6/6 report[/bold cyan]")
    res.report = write_demo_report(res, paths)
    print_summary(res)
    return res


def _stage_model(stage_paths: dict) -> str:
    """The loadable model dir of a finished stage: a full model, or the adapter (the engine loads base + adapter)."""
    return stage_paths.get("model") or stage_paths["adapter"]


def _one_chat_answer(engine, eval_dir: Path) -> tuple[str, str]:
    """Ask the (already loaded) model one held-out extraction question, as ``taiyi chat --once`` would."""
    from taiyi.files import read_jsonl
    from taiyi.infer.engine import GenerationParams

    question = next(r for r in read_jsonl(eval_dir / "mini-NER-en.jsonl"))["messages"][0]["content"]
    answer = engine.generate([[{"role": "user", "content": question}]], GenerationParams.greedy(max_new_tokens=96))[0]
    return question, answer


def _loss_points(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from taiyi.files import read_jsonl

    pts = {}
    for stage in ("stage1", "stage2"):
        log = run_dir / stage / "train_log.jsonl"
        pts[stage] = [(r["step"], r["loss"]) for r in read_jsonl(log) if "loss" in r and "step" in r] if log.is_file() else []
    return pts


def write_demo_report(res: DemoResult, paths: dict) -> Path:
    """demo-output/report.md with loss curves, scores per task and stage 1 vs stage 2 (charts as PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from taiyi.files import atomic_path

    out = res.out
    loss = _loss_points(Path(paths["run_dir"]))
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    offset = 0
    for stage, pts in loss.items():
        if pts:
            ax.plot([offset + s for s, _ in pts], [v for _, v in pts], label=stage, marker="o", markersize=2)
            offset += pts[-1][0]
    ax.set_xlabel("optimizer step (stage 2 continues stage 1)")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.set_title("Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out / "loss.png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

    names = list(res.scores["stage2"]["benchmarks"])
    s1 = [res.scores["stage1"]["benchmarks"].get(n, {}).get("score", 0.0) for n in names]
    s2 = [res.scores["stage2"]["benchmarks"][n]["score"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 3.8), dpi=100)
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], s1, width=0.4, label="stage 1 model")
    ax.bar([x + 0.2 for x in xs], s2, width=0.4, label="stage 2 model")
    ax.set_xticks(list(xs), names, rotation=25, ha="right")
    ax.set_ylabel("score (micro-F1 / accuracy)")
    ax.set_ylim(0, 100)
    ax.set_title("Held-out demo set: stage 1 vs stage 2")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(out / "scores.png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

    def row(n: str) -> str:
        a, b = res.scores["stage1"]["benchmarks"].get(n, {}), res.scores["stage2"]["benchmarks"][n]
        return (f"| {n} | {b['task']} | {b['metric']} | {a.get('score', 0):.1f} | {b['score']:.1f} | "
                f"{a.get('parse_failures', 0)}/{a.get('n_items', 0)} | {b['parse_failures']}/{b['n_items']} |")

    q, a = res.chat
    verdict = "PASS" if res.passed else "FAIL"
    lines = [
        "# Taiyi demo report",
        "",
        "The whole pipeline on the embedded mini corpus with a tiny randomly initialised Qwen2 model, on CPU:",
        "`taiyi convert --mini` → `taiyi build --config demo` → `taiyi train` (stage 1, then stage 2) → `taiyi eval` "
        "on the held-out test splits → one chat answer.",
        "",
        f"**Bar ({verdict})**: after stage 2, parse failures {res.parse_failure_rate:.1%} (at most "
        f"{MAX_PARSE_FAILURE_RATE:.0%}) and extraction F1 {res.extraction_f1:.1f} (above 0; mean of the NER and RE "
        "benchmarks).",
        "",
        "## Scores on the held-out demo set",
        "",
        "| benchmark | task | metric | stage 1 | stage 2 | parse failures stage 1 | parse failures stage 2 |",
        "|---|---|---|---:|---:|---:|---:|",
        *[row(n) for n in names],
        "",
        "![stage 1 vs stage 2](scores.png)",
        "",
        "## Training",
        "",
        "![loss](loss.png)",
        "",
        "Per-stage logs: `runs/*/stage1/train_log.jsonl`, `runs/*/stage2/train_log.jsonl`; full evaluation reports "
        "(per type, per template, worst examples): `eval/stage1/report.md`, `eval/stage2/report.md`; instruction "
        "statistics: `instructions/stats.md`.",
        "",
        "## One chat answer (stage-2 model)",
        "",
        "**User:**",
        "",
        *[f"> {line}" for line in q.splitlines()],
        "",
        "**Model:**",
        "",
        *[f"> {line}" for line in (a.splitlines() or [""])],
        "",
        "## Time per step (seconds)",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in res.seconds.items()],
        f"| **total** | {sum(res.seconds.values()):.1f} |",
        "",
    ]
    path = out / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return path


def print_summary(res: DemoResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Held-out demo set (score; parse failures)")
    for col in ("benchmark", "task", "stage 1", "stage 2"):
        table.add_column(col, justify="right" if col.startswith("stage") else "left")
    for n, b in res.scores["stage2"]["benchmarks"].items():
        a = res.scores["stage1"]["benchmarks"].get(n, {})
        table.add_row(n, b["task"], f"{a.get('score', 0):.1f} ({a.get('parse_failures', 0)})",
                      f"{b['score']:.1f} ({b['parse_failures']})")
    console.print(table)
    q, a = res.chat
    console.print("[bold]Chat[/bold] (stage-2 model)")
    console.print("user: " + q[:300], highlight=False, markup=False, style="dim")
    console.print("model: " + a, highlight=False, markup=False)
    verdict = "[green]PASS[/green]" if res.passed else "[red]FAIL[/red]"
    console.print(f"{verdict}: parse failures {res.parse_failure_rate:.1%} (≤ {MAX_PARSE_FAILURE_RATE:.0%}), "
                  f"extraction F1 {res.extraction_f1:.1f} (> 0); total {sum(res.seconds.values()):.0f} s; "
                  f"report: {res.report}")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-output"), "--out", help="Output folder (corpus, instructions, runs, eval, report.md)."),
        recipe: Path = typer.Option(REPO_RECIPE, "--recipe", help="Training recipe of the demo."),
        quick: bool = typer.Option(False, "--quick", help="CI size: fewer prompts, a smaller model, one epoch per stage."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    ) -> None:
        """Run the whole pipeline on the embedded mini corpus with a tiny model on CPU: convert, build, train
        stage 1 and 2, evaluate both on the held-out set, report, and one chat answer.

        Example: taiyi demo --out demo-output
        """
        res = run_demo(out, recipe=recipe, quick=quick, progress=progress)
        if not res.passed:
            raise typer.Exit(1)
