"""The benchmark registry: each benchmark of ``instructions/benchmarks.yaml`` joined with its metric and the paper's numbers.

Why: a benchmark is registered configuration, not code (as in lm-evaluation-harness). The instruction
stage owns *what* is evaluated (dataset, split, task, types); this module adds *how it is scored* (the
metric family of its task) and *what it is compared with* (the published Taiyi / ChatGPT / SOTA scores in
``paper_results.csv``, shipped inside the package), so the runner and the report stay generic.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


PAPER_RESULTS = Path(__file__).resolve().parent / "paper_results.csv"

# task codec -> how its targets are scored (metrics.py)
SCORING = {"ner": "entity_sets", "re": "relation_sets", "cls": "label_sets", "pair": "label_sets", "mcqa": "choice"}


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


@dataclass(frozen=True)
class Benchmark:
    name: str
    dataset: str
    split: str
    task: str
    lang: str
    metric: str
    types: tuple[str, ...] | None
    aliases: tuple[str, ...] = ()
    zero_shot: bool = False
    paper: PaperRow | None = None
    spec: Any = field(default=None, compare=False, repr=False)  # the instruction stage's own object

    @property
    def scoring(self) -> str:
        return SCORING[self.task]

    @property
    def dataset_names(self) -> tuple[str, ...]:
        """Catalog names to try, in order (the first present wins)."""
        return (self.dataset, *self.aliases)


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


def _as_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return dict(vars(obj))


@functools.cache
def benchmarks(which: str = "paper") -> dict[str, Benchmark]:
    """Registered benchmarks by name, in file order: ``which`` is ``paper`` (the paper's 13 + BioRED),
    ``demo`` (the mini corpus test splits) or a benchmarks YAML path (see taiyi.instructions.benchmarks)."""
    from taiyi.instructions.benchmarks import benchmarks_path, load_benchmarks

    source = benchmarks_path(which)
    table = paper_results()
    out: dict[str, Benchmark] = {}
    for obj in load_benchmarks(source).values():
        d = _as_dict(obj)
        where = f"{source}: benchmark {d.get('name')!r}"
        if d["task"] not in SCORING:
            raise ValueError(f"{where}: task {d['task']!r} has no metric; known: {sorted(SCORING)}")
        key = d.get("paper_key")
        paper = table.get(tuple(key)) if key else None
        if key and paper is None and which == "paper":
            raise ValueError(f"{where}: paper_key {key!r} is not a row of {PAPER_RESULTS}")
        types = d.get("types")
        out[d["name"]] = Benchmark(
            name=d["name"], dataset=d["dataset"], split=d["split"], task=d["task"], lang=d.get("lang", "en"),
            metric=d["metric"], types=tuple(types) if types else None, aliases=tuple(d.get("aliases") or ()),
            zero_shot=bool(d.get("zero_shot")), paper=paper, spec=obj,
        )
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
