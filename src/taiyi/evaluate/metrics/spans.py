"""Span-level NER scoring, equal to seqeval's entity F1 once the predicted strings are located in the text.

Why: the SOTA column of the paper's NER rows (PubMedBERT, BioBERT) is seqeval's entity-level F1 over
annotated spans, while a generative model names strings. Scoring spans needs a rule that puts each named string
somewhere in the document; with the rule below the gold answers score 100 and the figure is exactly seqeval's
on the located spans (tested on the real test sets with perturbed predictions).

Location rule, per document, for each distinct predicted (type, mention):
  1. it covers every gold span of that type whose mention is the same string after NFKC, case folding and
     whitespace collapsing (a model names a string once; the annotation marks each occurrence);
  2. otherwise it is placed at its first occurrence in the text (exact, then case/width/space-insensitive) that
     overlaps no span already placed (rule-1 spans first, then predictions in sorted order): a span of that
     type, a true positive only if a gold span has the same type and boundaries;
  3. a mention found nowhere (or only overlapping placed spans) is an unlocated false positive (``unlocated``).
Gold spans are the corpus annotations (``meta["spans"]``: type, start, end, mention; a discontinuous entity
spans from its first to its last character). P/R/F1 are micro over (type, start, end) spans of all documents.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from taiyi.evaluate.metrics.grounding import Grounder
from taiyi.evaluate.metrics.registry import register_metric
from taiyi.evaluate.metrics.sets import UNPARSEABLE, prf
from taiyi.text import normalise


def _overlaps(s: int, e: int, taken: list[tuple[int, int]]) -> bool:
    return any(s < te and ts < e for ts, te in taken)


def locate(preds: Iterable[Sequence] | None, gold_spans: Sequence[Sequence], text: str) -> tuple[set[tuple], int]:
    """The predicted spans ``{(type, start, end)}`` of one document by the location rule, and how many predicted
    mentions could not be located (an unreadable answer, ``None``, is one)."""
    if preds is None:
        return set(), 1
    by_key: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for t, s, e, m in gold_spans:
        by_key[(str(t), normalise(str(m)))].append((str(t), int(s), int(e)))
    placed: set[tuple] = set()
    rest = []
    for x in sorted({tuple(p)[:2] for p in preds}):
        if x[0] == UNPARSEABLE:
            rest.append(None)
            continue
        hit = by_key.get((str(x[0]), normalise(str(x[1]))))
        if hit:
            placed.update(hit)
        else:
            rest.append(x)
    taken = [(s, e) for _, s, e in placed]
    grounder = Grounder(text)
    unlocated = 0
    for x in rest:
        spot = None if x is None else next((se for se in grounder.spans(str(x[1])) if not _overlaps(*se, taken)), None)
        if spot is None:
            unlocated += 1
            continue
        placed.add((str(x[0]), *spot))
        taken.append(spot)
    return placed, unlocated


def span_scores(preds: Sequence[Iterable | None], spans: Sequence[Sequence[Sequence]], texts: Sequence[str]) -> dict:
    """Micro P/R/F1 over located predicted spans against gold spans, with ``per_type`` and ``unlocated``."""
    tp = fp = fn = unlocated = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p, g, text in zip(preds, spans, texts):
        placed, lost = locate(p, g, text)
        gold = {(str(t), int(s), int(e)) for t, s, e, _ in g}
        unlocated += lost
        for x in placed & gold:
            per[x[0]][0] += 1
        for x in placed - gold:
            per[x[0]][1] += 1
        for x in gold - placed:
            per[x[0]][2] += 1
        tp += len(placed & gold)
        fp += len(placed - gold) + lost
        fn += len(gold - placed)
    return {**prf(tp, fp, fn), "unlocated": unlocated, "per_type": {t: prf(*c) for t, c in sorted(per.items())}}


def gold_spans_of(ctx: dict, gold: Iterable[Sequence]) -> list[list]:
    """The unit's annotated spans; without them (items built before spans were kept) every occurrence of each
    gold string, as span grounding locates it."""
    spans = (ctx.get("meta") or {}).get("spans")
    if spans is not None:
        return [list(s) for s in spans]
    g = Grounder(ctx.get("text") or "")
    return [[t, s, e, m] for t, m in (tuple(x)[:2] for x in gold or ()) for s, e in g.spans(str(m))]


@register_metric("span_f1")
def span_f1(preds, golds, ctx):
    """Span-level micro-F1 equal to seqeval's entity F1 on located spans: each predicted (type, mention) is put in
    the document text by the location rule of ``metrics/spans.py`` (it covers every annotated span of its type
    with the same normalised string, else its first free occurrence); spans match on (type, start, end). A
    mention found nowhere is an unlocated false positive. Oracle ceiling: 100."""
    from taiyi.evaluate.metrics.standard import as_set

    spans = [gold_spans_of(c, g) for c, g in zip(ctx, golds)]
    out = span_scores([as_set(p) for p in preds], spans, [c.get("text") or "" for c in ctx])
    return {"score": out["f1"], **out}
