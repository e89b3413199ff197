"""Scoring: answers -> parsed structures -> scoring units (documents or items) -> the benchmark's metrics.

Why: the one scorer. A task says how it is scored (``unit`` and ``metrics``); a benchmark may choose other
registered metrics; this module only parses (unreadable answers are kept as ``None`` and scored wrong), pools
a document's items into one unit where the task scores documents, and calls the metric registry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from taiyi.evaluate.conventions import applicable
from taiyi.evaluate.extract import READINGS, read
from taiyi.evaluate.items import prompt_of, source_text
from taiyi.evaluate.metrics import UNPARSEABLE, as_set, get_metric, prf
from taiyi.instructions.benchmarks import Benchmark
from taiyi.instructions.tasks.base import Instruction, ParseError


@dataclass
class Parsed:
    item: Instruction
    answer: str | None
    pred: Any  # None: parse failure
    error: str | None = None


def parse_answers(items: Sequence[Instruction], answers: dict[str, str | None],
                  errors: dict[str, str] | None = None, reading: str = "flexible") -> list[Parsed]:
    """Read each answer (``reading``: see ``extract.py``); unreadable (or missing) answers become ``pred=None``
    with the reason kept."""
    out = []
    for it in items:
        text = answers.get(it.id)
        if text is None:
            out.append(Parsed(it, None, None, errors.get(it.id, "no answer") if errors else "no answer"))
            continue
        try:
            out.append(Parsed(it, text, read(text, it.task, it.meta, reading)))
        except ParseError as exc:
            out.append(Parsed(it, text, None, f"ParseError: {exc}"))
        except Exception as exc:  # a task bug on odd output must not end a long run; it is counted and shown
            out.append(Parsed(it, text, None, f"{type(exc).__name__}: {exc}"))
    return out


@dataclass
class Unit:
    """One scored unit: a document (its items' sets pooled) or one item, with what metrics may look at."""

    id: str
    parsed: list[Parsed]
    pred: Any
    gold: Any
    text: str = field(repr=False, default="")

    @property
    def ctx(self) -> dict:
        it = self.parsed[0].item
        return {"text": self.text, "meta": it.meta, "lang": it.lang, "task": it.task, "answer": self.parsed[0].answer}


def units_of(bench: Benchmark, parsed: Sequence[Parsed]) -> list[Unit]:
    """Document units pool every item of a document into one set (an unreadable answer adds an element that
    matches nothing, so it is scored wrong even on a document whose gold set is empty); item units are the items."""
    if bench.task_def.unit == "item":
        return [Unit(p.item.id, [p], p.pred, p.item.target, source_text(p.item)) for p in parsed]
    rows: dict[str, Unit] = {}
    for p in parsed:
        u = rows.get(p.item.document_id)
        if u is None:
            u = rows[p.item.document_id] = Unit(p.item.document_id, [], set(), set(), source_text(p.item))
        u.parsed.append(p)
        u.gold.update(as_set(p.item.target or ()))
        u.pred.update({(UNPARSEABLE, p.item.id, "")} if p.pred is None else as_set(p.pred))
    return list(rows.values())


def metric_scores(names: Sequence[str], units: Sequence[Unit]) -> dict[str, dict]:
    ctx = [u.ctx for u in units]
    return {n: get_metric(n)([u.pred for u in units], [u.gold for u in units], ctx) for n in names}


def score_units(bench: Benchmark, units: Sequence[Unit]) -> dict[str, Any]:
    """The headline score (the first metric), every selected metric's score, and the details: ``strict`` (the
    headline metric's counts), ``per_type`` where it has one, ``grounded`` when span-grounded F1 was asked."""
    names = bench.metric_names
    res = metric_scores(names, units)
    main = dict(res[names[0]])
    out: dict[str, Any] = {"score": main.pop("score"), "metrics": {n: r["score"] for n, r in res.items()}}
    per_type = main.pop("per_type", None)
    out["strict"] = main
    if per_type is not None:
        out["per_type"] = per_type
    if "grounded_f1" in res:
        out["grounded"] = {k: v for k, v in res["grounded_f1"].items() if k != "score"}
    return out


def _own_score(bench: Benchmark, u: Unit) -> float:
    """One unit's headline score, cheaply for documents (its strict F1)."""
    if bench.task_def.unit == "document":
        tp = len(u.pred & u.gold)
        return prf(tp, len(u.pred) - tp, len(u.gold) - tp)["f1"]
    return metric_scores(bench.metric_names[:1], [u])[bench.metric_names[0]]["score"]


def oracle_ceiling(bench: Benchmark, parsed: Sequence[Parsed], names: Sequence[str]) -> dict[str, Any]:
    """Each metric's score when every answer is the gold one, on these very items: the most a system can get
    (100 unless the metric's matching rule cannot reproduce the annotation, e.g. ambiguous concept names)."""
    gold = [Parsed(p.item, _gold_text(p.item), p.item.target) for p in parsed]
    return {n: r["score"] for n, r in metric_scores(names, units_of(bench, gold)).items()}


def _gold_text(item: Instruction) -> str:
    t = item.target
    return t if isinstance(t, str) else str(t)


def score_benchmark(bench: Benchmark, items: Sequence[Instruction], answers: dict[str, str | None],
                    n_worst: int = 3, errors: dict[str, str] | None = None,
                    reading: str = "flexible") -> tuple[dict[str, Any], list[Parsed]]:
    """Score, parse failures, per-template breakdown and the worst answers of one benchmark, under ``reading``
    (the headline), with the other reading's headline score and parse failures beside it (``readings``)."""
    parsed = parse_answers(items, answers, errors, reading)
    units = units_of(bench, parsed)
    res = score_units(bench, units)
    main = bench.metric_names[0]
    readings = {reading: {"score": res["score"], "parse_failures": sum(p.pred is None for p in parsed)}}
    for other in (r for r in READINGS if r != reading):
        op = parse_answers(items, answers, errors, other)
        readings[other] = {"score": metric_scores([main], units_of(bench, op))[main]["score"],
                           "parse_failures": sum(p.pred is None for p in op)}
    by_template: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        by_template[u.parsed[0].item.template_id].append(u)
    per_template = {t: {"score": metric_scores([main], us)[main]["score"], "n": len(us)}
                    for t, us in sorted(by_template.items())}
    ranked = sorted(((_own_score(bench, u), i, u) for i, u in enumerate(units)), key=lambda t: (t[0], t[1]))
    worst = []
    for sc, _, u in ranked[:n_worst]:
        if sc >= 100.0:
            break
        ps, first = u.parsed, u.parsed[0].item
        worst.append({"id": first.id, "template_id": first.template_id, "score": sc,
                      "prompt": prompt_of(first)[-1]["content"],
                      "answer": "\n---\n".join(p.answer or "" for p in ps),
                      "gold": first.target if len(ps) == 1 else sorted(u.gold),
                      "parse_error": next((p.error for p in ps if p.error), None)})
    res["oracle_ceiling"] = oracle_ceiling(bench, parsed, sorted({*res["metrics"], *applicable(bench.name, bench.task).values()}))
    conv = applicable(bench.name, bench.task)
    extra = metric_scores(sorted(set(conv.values()) - set(res["metrics"])), units)
    res["conventions"] = {c: {"metric": m, "score": res["metrics"][m] if m in res["metrics"] else extra[m]["score"]}
                          for c, m in conv.items()}
    n_options = Counter(len(p.item.meta["choices"]) for p in parsed if isinstance(p.item.meta.get("choices"), list))
    if n_options:
        res["options_per_item"] = {str(k): v for k, v in sorted(n_options.items())}
    failures = [p for p in parsed if p.pred is None]
    res.update(
        task=bench.task, dataset=bench.dataset, split=bench.split, metric=main, lang=bench.lang,
        reading=reading, readings=readings,
        n_items=len(parsed), n_documents=len({p.item.document_id for p in parsed}),
        parse_failures=len(failures), parse_failure_examples=[
            {"id": p.item.id, "answer": (p.answer or "")[:300], "error": p.error} for p in failures[:3]],
        per_template=per_template, worst=worst,
    )
    return res, parsed


__all__ = ["Parsed", "Unit", "parse_answers", "score_benchmark", "score_units", "units_of"]
