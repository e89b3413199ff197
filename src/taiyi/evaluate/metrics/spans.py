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
spans from its first to its last character); items without them (built from records without offsets) have their
gold strings located by the same rule (``gold_spans: located`` in the result). P/R/F1 are micro over (type, start, end) spans of all documents.
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


def locate(preds: Iterable[Sequence] | None, gold_spans: Sequence[Sequence], text: str,
           keep_unlocated: bool = False) -> tuple[set[tuple], int]:
    """The predicted spans ``{(type, start, end)}`` of one document by the location rule, and how many predicted
    mentions could not be located (an unreadable answer, ``None``, is one). ``keep_unlocated``: such a mention
    is also kept as ``(type, "?", normalised mention)``, which only the same unlocated string matches."""
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
            if keep_unlocated and x is not None:
                placed.add((str(x[0]), "?", normalise(str(x[1]))))
            continue
        placed.add((str(x[0]), *spot))
        taken.append(spot)
    return placed, unlocated


def span_scores(preds: Sequence[Iterable | None], spans: Sequence[Sequence[Sequence] | None], texts: Sequence[str],
                golds: Sequence[Iterable] | None = None) -> dict:
    """Micro P/R/F1 over located predicted spans against gold spans, with ``per_type`` and ``unlocated``. A unit
    without annotated spans (``spans[i] is None``) has its gold strings located by the same rule as predictions
    (a string found nowhere is kept unlocated on both sides), so gold answers still score 100."""
    tp = fp = fn = unlocated = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for i, (p, g, text) in enumerate(zip(preds, spans, texts)):
        if g is None:
            gold, _ = locate(golds[i] if golds is not None else (), [], text, keep_unlocated=True)
            placed, lost = locate(p, [], text, keep_unlocated=True)
            kept = sum(1 for x in placed if x[1] == "?")  # unlocated but kept: already in ``placed``
        else:
            placed, lost = locate(p, g, text)
            gold = {(str(t), int(s), int(e)) for t, s, e, _ in g}
            kept = 0
        unlocated += lost
        for x in placed & gold:
            per[x[0]][0] += 1
        for x in placed - gold:
            per[x[0]][1] += 1
        for x in gold - placed:
            per[x[0]][2] += 1
        tp += len(placed & gold)
        fp += len(placed - gold) + lost - kept
        fn += len(gold - placed)
    return {**prf(tp, fp, fn), "unlocated": unlocated, "per_type": {t: prf(*c) for t, c in sorted(per.items())}}


@register_metric("span_f1")
def span_f1(preds, golds, ctx):
    """Span-level micro-F1 equal to seqeval's entity F1 on located spans: each predicted (type, mention) is put in
    the document text by the location rule of ``metrics/spans.py`` (it covers every annotated span of its type
    with the same normalised string, else its first free occurrence); spans match on (type, start, end). A
    mention found nowhere is an unlocated false positive. Oracle ceiling: 100."""
    from taiyi.evaluate.metrics.standard import as_set

    spans = [(c.get("meta") or {}).get("spans") for c in ctx]
    gs = [as_set(g) or set() for g in golds]
    out = span_scores([as_set(p) for p in preds], spans, [c.get("text") or "" for c in ctx], gs)
    return {"score": out["f1"], **out, "gold_spans": "annotated" if all(s is not None for s in spans) else "located"}
