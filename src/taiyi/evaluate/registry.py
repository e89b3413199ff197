"""The benchmark sets as the evaluator sees them: ``instructions/benchmarks.yaml`` checked against the metric
registry, and joined with the paper's numbers.

Why: a benchmark is registered configuration, not code (as in lm-evaluation-harness). There is one
``Benchmark`` type (``taiyi.instructions.benchmarks``): the instruction stage owns *what* is evaluated and
*how it is scored* (its metric names); this module checks those names against the metric registry and adds
*what it is compared with* (the published Taiyi / ChatGPT / SOTA scores in ``paper_results.csv``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from taiyi.evaluate.metrics import metric_names
from taiyi.files import DataError
from taiyi.instructions.benchmarks import Benchmark, benchmarks_path, load_benchmarks

PAPER_RESULTS = Path(__file__).resolve().parent / "paper_results.csv"


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's results table (scores in percent; None where the paper gives none)."""

    task: str
    dataset: str
    metric: str
    taiyi: float | None
    chatgpt35: float | None
    sota: float | None
    sota_system: str


def _num(s: str) -> float | None:
    return float(s) if s.strip() else None


@functools.cache
def paper_results() -> dict[tuple[str, str], PaperRow]:
    """``(task, dataset) -> PaperRow`` from the shipped copy of the paper's table."""
    rows = {}
    with open(PAPER_RESULTS, newline="", encoding="utf-8") as fh:
        for line_no, r in enumerate(csv.DictReader(fh), 2):
            try:
                row = PaperRow(r["task"], r["dataset"], r["metric"], _num(r["taiyi"]), _num(r["chatgpt35"]),
                               _num(r["sota"]), r["sota_system"])
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{PAPER_RESULTS}:{line_no}: bad row {r!r} ({exc})") from None
            rows[(row.task, row.dataset)] = row
    return rows


def paper_row(bench: Benchmark) -> PaperRow | None:
    """The paper's published numbers for a benchmark (its ``paper_key`` row), or None."""
    return paper_results().get(tuple(bench.paper_key)) if bench.paper_key else None


@functools.cache
def benchmarks(which: str = "paper") -> dict[str, Benchmark]:
    """Registered benchmarks by name, in file order: ``which`` is ``paper`` (the paper's 13 + BioRED),
    ``demo`` (the mini corpus test splits) or a benchmarks YAML path (see taiyi.instructions.benchmarks).
    Checks here what the instruction stage cannot: metric names, and paper rows of the paper set."""
    source = benchmarks_path(which)
    out = load_benchmarks(source)
    known = metric_names()
    for b in out.values():
        where = f"{source}: benchmark {b.name!r}"
        bad = [m for m in b.metric_names if m not in known]
        if bad:
            raise DataError(f"{where}: metric(s) {bad} are not registered; known: {', '.join(known)}")
        if b.paper_key and paper_row(b) is None and which == "paper":
            raise DataError(f"{where}: paper_key {list(b.paper_key)!r} is not a row of {PAPER_RESULTS}")
    return out


def select(names: str | list[str], which: str = "paper") -> list[Benchmark]:
    """``"all"`` or comma-separated / listed names (case-insensitive) -> benchmarks; unknown names raise."""
    reg = benchmarks(which)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names or [n.lower() for n in names] == ["all"]:
        return list(reg.values())
    by_lower = {k.lower(): v for k, v in reg.items()}
    out = []
    for n in names:
        if n.lower() not in by_lower:
            raise KeyError(f"unknown benchmark {n!r}; known: {', '.join(reg)}")
        out.append(by_lower[n.lower()])
    return out


def paper_average() -> PaperRow | None:
    return paper_results().get(("all", "average"))
