"""Set and choice arithmetic of the paper's metrics, independent of any model: set F1, label-set F1, accuracy.

Why: the published Taiyi table scores NER and RE by strict string matching of per-document sets of
(type, mention) and (type, head, tail), classification by micro-F1 over label sets and QA by accuracy
(design §6). Keeping the arithmetic here, free of models and files, lets it be checked against seqeval
and hand-computed cases. Every score is a percentage (0-100), as in the paper.

A parse failure is passed in as ``None`` and is scored wrong, never skipped: for set metrics it counts as
one false positive (the unreadable answer) besides missing every gold element; for accuracy it is a miss.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Hashable, Iterable, Sequence

from taiyi.text import normalise

UNPARSEABLE = "<unparseable>"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall, F1 in percent from counts (0 where undefined; 100 when nothing was asked or said)."""
    if tp == fp == fn == 0:
        return {"precision": 100.0, "recall": 100.0, "f1": 100.0, "tp": 0, "fp": 0, "fn": 0}
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100 * p, "recall": 100 * r, "f1": 100 * f, "tp": tp, "fp": fp, "fn": fn}


def _as_set(items: Iterable[Sequence] | None, doc_key: Hashable) -> set[tuple]:
    if items is None:
        return {(UNPARSEABLE, doc_key)}
    return {tuple(x) if isinstance(x, (list, tuple)) else (x,) for x in items}


def set_f1(preds: Sequence[Iterable | None], golds: Sequence[Iterable]) -> dict[str, Any]:
    """Micro P/R/F1 over per-document sets of tuples whose first element is the type; plus ``per_type``.

    ``preds[i]`` / ``golds[i]`` are the elements predicted / annotated for document i (duplicates collapse,
    as in the paper's per-document sets); ``preds[i] is None`` marks a parse failure.
    """
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold documents")
    tp = fp = fn = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for i, (p, g) in enumerate(zip(preds, golds)):
        ps, gs = _as_set(p, i), _as_set(g, i)
        for x in ps & gs:
            per[str(x[0])][0] += 1
        for x in ps - gs:
            per[str(x[0])][1] += 1
        for x in gs - ps:
            per[str(x[0])][2] += 1
        tp += len(ps & gs)
        fp += len(ps - gs)
        fn += len(gs - ps)
    out = prf(tp, fp, fn)
    out["per_type"] = {t: prf(*c) for t, c in sorted(per.items())}
    return out


# --- labels and choices ---------------------------------------------------------------------------------


def label_f1(preds: Sequence[Iterable[str] | str | None], golds: Sequence[Iterable[str] | str]) -> dict[str, Any]:
    """Micro-F1 over label sets (multi-label classification; single labels count as one-element sets)."""

    def labels(x):
        if x is None:
            return None
        return [[lab] for lab in ([x] if isinstance(x, str) else x)]

    return set_f1([labels(p) for p in preds], [labels(g) for g in golds])


_LETTER = re.compile(r"^\(?([A-Za-z])[\).:：、]?$")


def _norm_text(s: str) -> str:
    return normalise(str(s)).strip(".。")


def choice_correct(pred: str | None, gold: str, choices: Sequence[str] = ()) -> bool:
    """True when ``pred`` is the gold answer's text or its letter (A = first choice)."""
    if pred is None:
        return False
    p = str(pred).strip()
    if _norm_text(p) == _norm_text(gold):
        return True
    m = _LETTER.match(p)
    if m and choices:
        idx = ord(m.group(1).upper()) - ord("A")
        return 0 <= idx < len(choices) and _norm_text(choices[idx]) == _norm_text(gold)
    return False


def accuracy(preds: Sequence[str | None], golds: Sequence[str], choices: Sequence[Sequence[str]] | None = None) -> dict:
    """Multiple-choice accuracy in percent (answer text or letter); ``correct`` / ``total`` counts included."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold answers")
    choices = choices or [()] * len(golds)
    correct = sum(choice_correct(p, g, c) for p, g, c in zip(preds, golds, choices))
    total = len(golds)
    return {"accuracy": 100.0 * correct / total if total else 100.0, "correct": correct, "total": total}
