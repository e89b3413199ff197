"""The one generic evaluation loop: items -> answers (cached, batched) -> parsed structures -> registered metrics.

Why: every benchmark is configuration (``instructions/benchmarks.yaml`` + the task and metric registries); this
module only orchestrates: it loads a benchmark's items (``items.py``: a prebuilt eval file or the raw data),
asks any engine for answers (``answers.py``, cached in ``predictions.jsonl`` by ``cache.py`` so an interrupted
run resumes and a re-run only re-scores) and scores them (``scoring.py``). ``--oracle`` replaces the model by
the gold answers rendered in every answer phrasing: a self-check of render/parse/metrics that must give 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from taiyi.evaluate.answers import generate_answers, loglikelihood_answers
from taiyi.evaluate.cache import PredictionCache
from taiyi.evaluate.items import BenchmarkUnavailable, load_items, oracle_items
from taiyi.evaluate.predictions import answers_for, export_items, read_predictions
from taiyi.evaluate.registry import paper_row, select
from taiyi.evaluate.scoring import score_benchmark
from taiyi.files import DataError, read_json, write_json


@dataclass
class EvalConfig:
    out: Path
    benchmarks: str | list[str] = "all"
    benchmark_set: str = "paper"
    model: str | None = None
    adapter: str | None = None
    endpoint: str | None = None
    backend: str = "hf"
    data_root: Path | None = None
    eval_dir: Path | None = None
    limit: int | None = None
    mc_mode: str = "generate"
    oracle: bool = False
    batch_size: int = 16
    max_new_tokens: int | None = None
    seed: int = 0
    progress: bool = True
    predictions: Path | None = None
    export_items: Path | None = None
    reading: str = "flexible"
    api_key: str | None = None
    extra: dict = field(default_factory=dict)

    def identity(self) -> dict:
        """What the cached answers depend on: a different model or mode must not reuse them."""
        out = {"model": self.model, "adapter": self.adapter, "endpoint": self.endpoint, "mc_mode": self.mc_mode,
               "oracle": self.oracle, "max_new_tokens": self.max_new_tokens, "seed": self.seed}
        if self.predictions is not None:
            out["predictions"] = str(self.predictions)
        return out


def _check_identity(cfg: EvalConfig) -> None:
    path = cfg.out / "run.json"
    if path.exists():
        old = read_json(path)
        if old != cfg.identity():
            raise DataError(
                f"{path}: {cfg.out} holds predictions of another run ({old}); "
                f"use a new --out, or delete {cfg.out / 'predictions.jsonl'} to start over")
    else:
        write_json(path, cfg.identity())


def run_eval(cfg: EvalConfig, engine=None, echo: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Answer (or reuse cached answers for) every selected benchmark and score it; writes predictions.jsonl and
    run.json under ``cfg.out`` and returns the scores document (the report module writes the rest)."""
    cfg.out = Path(cfg.out)
    cfg.out.mkdir(parents=True, exist_ok=True)
    benches = select(cfg.benchmarks, cfg.benchmark_set)
    given = None
    if cfg.predictions is not None:
        given = read_predictions(cfg.predictions, known=[b.name for b in select("all", cfg.benchmark_set)])
        if cfg.benchmarks in ("all", ["all"]):
            benches = [b for b in benches if b.name in given]
    offline = cfg.oracle or given is not None or cfg.export_items is not None
    if not offline:
        _check_identity(cfg)
    cache = None if offline else PredictionCache(cfg.out / "predictions.jsonl")
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    oracle_rows: list[dict] = []
    datasets: dict = {}
    owns_engine = False
    try:
        for bench in benches:
            try:
                items = load_items(bench, data_root=cfg.data_root, eval_dir=cfg.eval_dir, limit=cfg.limit, seed=cfg.seed,
                                   datasets=datasets)
            except BenchmarkUnavailable as exc:
                skipped[bench.name] = str(exc)
                echo(f"skip {bench.name}: {exc}")
                continue
            if not items:
                skipped[bench.name] = "no items"
                continue
            counts: dict = {}
            errors = None
            if cfg.export_items is not None:
                path = export_items(bench, items, cfg.export_items)
                echo(f"{bench.name}: {len(items)} items -> {path}")
                continue
            if cfg.oracle:
                items, answers = oracle_items(items)
                oracle_rows.extend({"benchmark": bench.name, "id": i, "mode": "oracle", "answer": a} for i, a in answers.items())
                ran = 0
            elif given is not None:
                answers, errors, counts = answers_for(items, given.get(bench.name, {}), str(cfg.predictions))
                ran = 0
            else:
                if engine is None:
                    from taiyi.infer.engine import load_engine

                    engine = load_engine(cfg.model, adapter=cfg.adapter, endpoint=cfg.endpoint,
                                         backend="openai" if cfg.endpoint else cfg.backend,
                                         **({"api_key": cfg.api_key} if cfg.api_key else {}))
                    owns_engine = True
                if cfg.mc_mode == "loglikelihood" and bench.task == "mcqa":
                    ran = loglikelihood_answers(engine, bench, items, cache, batch_size=cfg.batch_size, progress=cfg.progress)
                else:
                    ran = generate_answers(engine, bench, items, cache, batch_size=cfg.batch_size,
                                           max_new_tokens=cfg.max_new_tokens, progress=cfg.progress)
                rows = {it.id: cache.get(bench.name, it) or {} for it in items}
                answers = {i: r.get("answer") for i, r in rows.items()}
                errors = {i: r["error"] for i, r in rows.items() if r.get("error")}
            res, _ = score_benchmark(bench, items, answers, errors=errors, reading=cfg.reading)
            res["generated"] = ran
            res["cached"] = len(items) - ran if not offline else 0
            res.update(counts)
            paper = paper_row(bench)
            if paper is not None:
                res["paper"] = {"taiyi": paper.taiyi, "chatgpt35": paper.chatgpt35,
                                "sota": paper.sota, "sota_system": paper.sota_system}
            results[bench.name] = res
            missing = f", {counts['missing']} missing from the predictions" if counts.get("missing") else ""
            echo(f"{bench.name}: {res['score']:.1f} ({res['n_items']} items, {res['parse_failures']} parse failures{missing}, "
                 f"{ran} generated)")
    finally:
        if owns_engine and engine is not None:
            engine.close()
    if cfg.oracle:
        from taiyi.files import write_jsonl

        write_jsonl(cfg.out / "predictions.jsonl", oracle_rows)
    scored = [r["score"] for r in results.values()]
    return {
        "run": {**cfg.identity(), "benchmarks": [b.name for b in benches], "limit": cfg.limit, "reading": cfg.reading,
                "data_root": str(cfg.data_root) if cfg.data_root else None,
                "eval_dir": str(cfg.eval_dir) if cfg.eval_dir else None, **cfg.extra},
        "benchmarks": results,
        "skipped": skipped,
        "average": sum(scored) / len(scored) if scored else None,
    }
