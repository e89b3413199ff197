"""Span grounding: locate predicted and gold mentions in the document text before matching them.

Why: strict string matching punishes a model for writing "Aspirin" where the text says "aspirin"; grounding
compares located character spans (entities) or located surface forms (relation arguments) instead, and counts
mentions that are nowhere in the text (hallucinations).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from taiyi.evaluate.metrics.sets import set_f1
from taiyi.text import fold, normalise


def _norm_char(c: str) -> str:
    c = fold(c)
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
