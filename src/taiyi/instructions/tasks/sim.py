"""Graded similarity codec (BIOSSES, Bio-SimLex, UMNSRS, MayoSRS, EHR-Rel): two texts -> a numeric score.

Why: similarity and relatedness sets are scored by correlation with human ratings (the paper's TP-ss rows), not
by a label; the ``pair`` codec would turn "3.2" into a class name. The answer is one number on the dataset's scale,
and the prompt states that scale: each dataset has its own (BIOSSES 0-4, Bio-SimLex 0-10, UMNSRS 0-1600), and the
catalog does not record it, so it is taken from the data (``dataset_facts``: the lowest and highest score among the
records being built, rounded outward to a step fitting their size: UMNSRS's 142-1534 is offered as 100-1600;
without facts, the record's own score bounds it to [0, ceil]).

Target: the score as a float rounded to ``DECIMALS`` places (the corpus keeps the pairs record's ``label`` string as
written; a mean of three raters would otherwise be taught as 1.3333333333333333). ``meta``: ``lang``,
``phrasing``, ``low``, ``high`` (the scale in the prompt, as strings). Scored by Pearson and Spearman.
"""

from __future__ import annotations

import math
import re

from taiyi.instructions.tasks.answer_text import strip_label
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.labels import fill
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import nfkc, record_lang

TASK = "sim"
DECIMALS = 2  # gold scores are rounded to this many places (EHR-Rel's means of three raters are x/3)
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


def gold_score(record: dict) -> float | None:
    """The record's score, or None when it is not a pairs record with a finite numeric label."""
    if record.get("schema") != "pairs" or not str(record.get("text_1", "")).strip() or not str(record.get("text_2", "")).strip():
        return None
    try:
        x = float(str(record.get("label", "")).strip())
    except ValueError:
        return None
    return round(x, DECIMALS) if math.isfinite(x) else None


def scale(low: float, high: float) -> tuple[float, float]:
    """Round bounds outward to a step fitting their size (0-4 -> 0-4, 142-1534 -> 100-1600)."""
    step = 10.0 ** max(0, math.floor(math.log10(max(abs(low), abs(high), 1.0))) - 1)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def number(x: float) -> str:
    """The shortest text that reads back as exactly ``x`` ("3", "3.25", "370.5")."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    target = gold_score(record)
    if target is None:
        return []
    lang = record_lang(record, info)
    tpl = load_templates(TASK, lang)
    facts = (info.get("facts") or {}).get(TASK) or {}
    low = facts.get("low", min(0.0, math.floor(target)))
    high = facts.get("high", max(1.0, math.ceil(target)))
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "low": number(low), "high": number(high)}
    user = fill(prompt["text"], text_1=str(record["text_1"]).strip(), text_2=str(record["text_2"]).strip(),
                low=meta["low"], high=meta["high"])
    return [Instruction.for_record(record, TASK, prompt, lang=lang, user=user, answer=render(target, meta),
                                   target=target, meta=meta, variant=0)]


def render(target: float, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    k = meta["phrasing"] if phrasing is None else phrasing
    return fill(answers[k % len(answers)], score=number(target), low=meta.get("low", "0"), high=meta.get("high", ""))


def parse(text: str | None, meta: dict) -> float:
    """The first number of the answer (after any answer label; full-width digits read as ASCII)."""
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    body = strip_label(nfkc(str(text)).strip(), ("score", "similarity", "similarity score", "评分", "得分", "分数", "相似度"))
    m = _NUMBER.search(body)
    if m is None:
        raise ParseError(f"no number in answer: {str(text)[:80]!r}")
    return float(m.group(0))


@register_task(TASK)
class SimTask(Task):
    """A similarity score per text pair, scored by correlation with the gold scores."""

    unit = "item"
    stage = 1
    max_new_tokens = 32
    metrics = ("pearson", "spearman")

    def dataset_facts(self, records, info: dict) -> dict | None:
        scores = [s for s in map(gold_score, records) if s is not None]
        if not scores:
            return None
        low, high = scale(min(scores), max(scores))
        return {"low": float(low), "high": float(high)}
