"""Strict micro-F1 over per-document sets of items — the paper's NER / RE / event / classification metric.

Why: ner, re, ee and cls all score "which items did the model name for this document" by exact match
(design §6); one implementation keeps their numbers comparable. A prediction of ``None`` is a parse
failure: it counts as predicting nothing and is reported in ``parse_failures``.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Hashable, Iterable, Sequence


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = 100.0 * tp / n_pred if n_pred else (100.0 if n_gold == 0 else 0.0)
    r = 100.0 * tp / n_gold if n_gold else (100.0 if n_pred == 0 else 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def micro_f1(
    preds: Sequence[Iterable | None],
    golds: Sequence[Iterable],
    key: Callable[[object], Hashable] = lambda x: tuple(x) if isinstance(x, list) else x,
    group: Callable[[Hashable], str] | None = None,
) -> dict[str, float]:
    """precision/recall/f1 (0-100), counts, and ``per_type/<g>/{precision,recall,f1,n_gold}`` when ``group`` is given.

    ``key`` turns an item into a hashable (lists -> tuples); ``group`` names the breakdown bucket of an item."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold documents")
    tp = n_pred = n_gold = failures = exact = 0
    g_tp, g_pred, g_gold = Counter(), Counter(), Counter()
    for pred, gold in zip(preds, golds):
        if pred is None:
            failures += 1
            pred = []
        ps = {key(x) for x in pred}
        gs = {key(x) for x in gold}
        hit = ps & gs
        tp += len(hit)
        n_pred += len(ps)
        n_gold += len(gs)
        exact += ps == gs
        if group is not None:
            g_tp.update(group(x) for x in hit)
            g_pred.update(group(x) for x in ps)
            g_gold.update(group(x) for x in gs)
    p, r, f = _prf(tp, n_pred, n_gold)
    out: dict[str, float] = {
        "precision": p,
        "recall": r,
        "f1": f,
        "exact_match": 100.0 * exact / len(golds) if golds else 0.0,
        "tp": tp,
        "n_pred": n_pred,
        "n_gold": n_gold,
        "n_docs": len(golds),
        "parse_failures": failures,
    }
    if group is not None:
        for g in sorted(set(g_gold) | set(g_pred)):
            gp, gr, gf = _prf(g_tp[g], g_pred[g], g_gold[g])
            out[f"per_type/{g}/precision"] = gp
            out[f"per_type/{g}/recall"] = gr
            out[f"per_type/{g}/f1"] = gf
            out[f"per_type/{g}/n_gold"] = g_gold[g]
    return out
