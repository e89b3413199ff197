"""The paper's evaluation metrics, independent of any model: set F1, span-grounded F1, label-set F1, accuracy.

Why: the published Taiyi table scores NER and RE by strict string matching of per-document sets of
(type, mention) and (type, head, tail), classification by micro-F1 over label sets and QA by accuracy
(design §6). Keeping the arithmetic here, free of models and files, lets it be checked against seqeval
and hand-computed cases. Every score is a percentage (0-100), as in the paper.

A parse failure is passed in as ``None`` and is scored wrong, never skipped: for set metrics it counts as
one false positive (the unreadable answer) besides missing every gold element; for accuracy it is a miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any, Hashable, Iterable, Sequence

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


# --- span grounding -------------------------------------------------------------------------------------


def _norm_char(c: str) -> str:
    c = unicodedata.normalize("NFKC", c).casefold()
    return " " if c.isspace() else c


def _normalised_index(text: str) -> tuple[str, list[int]]:
    """``text`` casefolded with runs of whitespace collapsed, and for each output char its offset in ``text``."""
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        n = _norm_char(ch)
        if n == " " and out and out[-1] == " ":
            continue
        for c in n:
            out.append(c)
            pos.append(i)
    return "".join(out), pos


def normalise(s: str) -> str:
    """Casefolded NFKC text with whitespace runs collapsed (the comparison key of located surface forms)."""
    return " ".join(unicodedata.normalize("NFKC", s).casefold().split())


def _find_all(text: str, sub: str) -> list[tuple[int, int]]:
    """Every (possibly overlapping) occurrence of ``sub`` in ``text`` as (start, end)."""
    out, i = [], text.find(sub)
    while i != -1:
        out.append((i, i + len(sub)))
        i = text.find(sub, i + 1)
    return out


class Grounder:
    """Locates mention strings in one document text: exact occurrences first, then case/width/space-insensitive."""

    def __init__(self, text: str):
        self.text = text
        self._norm: tuple[str, list[int]] | None = None

    def spans(self, mention: str) -> list[tuple[int, int]]:
        """All (start, end) character spans of ``mention`` in the text (end exclusive); [] when not found."""
        mention = mention.strip()
        if not mention:
            return []
        found = _find_all(self.text, mention)
        if found:
            return found
        if self._norm is None:
            self._norm = _normalised_index(self.text)
        norm, pos = self._norm
        key, _ = _normalised_index(mention)
        key = key.strip()
        if not key:
            return []
        return [(pos[s], pos[e - 1] + 1) for s, e in _find_all(norm, key)]

    def canonical(self, mention: str) -> str | None:
        """The located surface form (normalised) of ``mention``, or None when it is not in the text."""
        spans = self.spans(mention)
        if not spans:
            return None
        s, e = spans[0]
        return normalise(self.text[s:e])


def ground_entities(items: Iterable[Sequence] | None, text: str) -> set[tuple] | None:
    """(type, mention) pairs -> {(type, start, end)} over every occurrence in ``text``.

    A mention that cannot be located becomes one ungrounded element ``(type, "?", mention)``, so a
    hallucinated prediction is a false positive and an unlocatable gold mention a false negative.
    """
    if items is None:
        return None
    g = Grounder(text)
    out: set[tuple] = set()
    for typ, mention in (tuple(x)[:2] for x in items):
        spans = g.spans(str(mention))
        if spans:
            out.update((typ, s, e) for s, e in spans)
        else:
            out.add((typ, "?", mention))
    return out


def ground_relations(items: Iterable[Sequence] | None, text: str) -> set[tuple] | None:
    """(type, head, tail) triples -> triples of located, normalised surface forms (unlocatable kept marked)."""
    if items is None:
        return None
    g = Grounder(text)
    out: set[tuple] = set()
    for typ, head, tail in (tuple(x)[:3] for x in items):
        h, t = g.canonical(str(head)), g.canonical(str(tail))
        out.add((typ, h if h is not None else f"?{head}", t if t is not None else f"?{tail}"))
    return out


def grounded_sets(preds: Sequence[Iterable | None], golds: Sequence[Iterable], texts: Sequence[str],
                  kind: str = "ner") -> tuple[list, list]:
    """Predicted and gold per-document sets with every mention (NER) or argument (RE) located in the text."""
    ground = {"ner": ground_entities, "re": ground_relations}[kind]
    return [ground(p, t) for p, t in zip(preds, texts)], [ground(g, t) for g, t in zip(golds, texts)]


def _ungrounded(x: tuple, kind: str) -> bool:
    return x[1] == "?" if kind == "ner" else any(str(a).startswith("?") for a in x[1:])


def grounded_score(gp: Sequence[set | None], gg: Sequence[set], kind: str = "ner") -> dict:
    """Micro P/R/F1 of already grounded sets, plus ``ungrounded``: predicted elements not found in the text."""
    out = set_f1(gp, gg)
    out["ungrounded"] = sum(1 for s in gp if s for x in s if _ungrounded(x, kind))
    return out


def grounded_f1(preds: Sequence[Iterable | None], golds: Sequence[Iterable], texts: Sequence[str], kind: str = "ner") -> dict:
    """Span-grounded micro F1: mentions (NER) or arguments (RE) located in each document's text before matching.

    Counts ``ungrounded``: predicted elements whose mention could not be found in the text (hallucinations).
    """
    return grounded_score(*grounded_sets(preds, golds, texts, kind), kind=kind)


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
