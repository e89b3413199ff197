"""Concept-level relation scoring: BioCreative V CDR's official CID metric (and BioRED's, where ids exist).

Why: BC5CDR chemical-induced disease relations are officially scored per document on (chemical MeSH, disease
MeSH) pairs, so naming a relation by any mention of its concepts is right. A generative model names strings;
this metric maps each named head and tail to the document's concept ids through the document's own annotated
mentions (``meta["concepts"]``: type, mention, ids; matched after NFKC, case folding and whitespace collapsing),
then scores (relation type, head id, tail id) triples per document against ``meta["concept_relations"]``.
A name that matches no annotated mention cannot be mapped: it is one false positive. A mention annotated with
several ids (a composite mention, or one string annotated with different ids) yields every pair of its ids
except a concept with itself; such strings are why the oracle can stay below 100 (BioRED test: see the tests).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from taiyi.evaluate.metrics.registry import register_metric
from taiyi.evaluate.metrics.sets import UNPARSEABLE, prf
from taiyi.text import normalise


def concept_index(concepts: Iterable[Sequence]) -> dict[str, set[str]]:
    """normalised mention -> the concept ids annotated on it in the document."""
    out: dict[str, set[str]] = defaultdict(set)
    for _t, mention, ids in concepts:
        out[normalise(str(mention))].update(str(i) for i in ids)
    return out


def concept_pairs(pred: Iterable[Sequence] | None, index: dict[str, set[str]]) -> tuple[set[tuple], int]:
    """The (type, head id, tail id) triples one document's predicted (type, head, tail) strings name, and how
    many predicted triples could not be mapped (an unreadable answer is one)."""
    if pred is None:
        return set(), 1
    out, unmapped = set(), 0
    for x in {tuple(p)[:3] for p in pred}:
        if x[0] == UNPARSEABLE or len(x) < 3:
            unmapped += 1
            continue
        heads, tails = index.get(normalise(str(x[1]))), index.get(normalise(str(x[2])))
        if not heads or not tails:
            unmapped += 1
            continue
        out.update((str(x[0]), h, t) for h in heads for t in tails if h != t)  # never a concept with itself
    return out, unmapped


@register_metric("concept_f1")
def concept_f1(preds, golds, ctx):
    """Concept-level micro-F1 of relations (BioCreative V CDR's official CID measure): predicted head/tail names
    are mapped to the document's concept ids (MeSH) through its annotated mentions (normalised string match), and
    (type, head id, tail id) triples are matched per document; an unmappable name is a false positive. Scored
    only where the records carry concept ids (``score`` is None otherwise). Oracle ceiling: 100."""
    from taiyi.evaluate.metrics.standard import as_set

    tp = fp = fn = unmapped = scored = 0
    for p, c in zip(preds, ctx):
        meta = c.get("meta") or {}
        if "concept_relations" not in meta:
            continue
        scored += 1
        gold = {tuple(map(str, r)) for r in meta["concept_relations"]}
        got, lost = concept_pairs(as_set(p), concept_index(meta.get("concepts") or []))
        unmapped += lost
        tp += len(got & gold)
        fp += len(got - gold) + lost
        fn += len(gold - got)
    if not scored:
        return {"score": None, "units": 0, "note": "no concept ids in these records"}
    out = prf(tp, fp, fn)
    return {"score": out["f1"], **out, "unmapped": unmapped, "units": scored}
