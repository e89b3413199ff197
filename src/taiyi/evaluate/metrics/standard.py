"""The registered metrics: each one's docstring is its definition; every score is a percentage (0-100).

Why: one scorer for ``taiyi eval``, the tests and any user script; a benchmark names the ones it wants.
An unreadable answer (``None``) is always scored wrong and counted, never skipped.
"""

from __future__ import annotations

from typing import Any, Sequence

from taiyi.evaluate.metrics.grounding import grounded_score, ground_entities, ground_relations
from taiyi.evaluate.metrics.overlap import rouge_l as _rouge_l, token_f1 as _token_f1
from taiyi.evaluate.metrics.registry import register_metric
from taiyi.evaluate.metrics.sets import UNPARSEABLE, accuracy as _accuracy, prf, set_f1
from taiyi.text import text_lang, tokens


def freeze(x: Any) -> Any:
    """A hashable copy of a target element: lists become tuples (recursively), dicts sorted item tuples."""
    if isinstance(x, (list, tuple)):
        return tuple(freeze(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, freeze(v)) for k, v in x.items()))
    return x


def as_set(target: Any) -> set | None:
    """One unit's elements as a set of tuples: a label string is one 1-tuple; a list of labels 1-tuples each."""
    if target is None:
        return None
    if isinstance(target, str):
        return {(target,)}
    return {(x,) if isinstance(x, str) else freeze(x) for x in target}


def _n_unreadable(preds: Sequence) -> int:
    return sum(1 for p in preds if p is None)


@register_metric("micro_f1")
def micro_f1(preds, golds, ctx):
    """Strict micro-F1 over per-unit sets: a unit's predicted and gold elements (e.g. (type, mention) pairs of a
    document, (type, head, tail) triples, or labels) match only when identical; TP/FP/FN are summed over units
    before P/R/F1. An unreadable answer adds one false positive that matches nothing (and misses all gold)."""
    out = set_f1([as_set(p) for p in preds], [as_set(g) for g in golds])
    return {"score": out["f1"], **out, "unreadable": _n_unreadable(preds)}


@register_metric("label_f1")
def label_f1(preds, golds, ctx):
    """Label-set micro-F1: each unit's labels (one label or several) as a set, TP/FP/FN summed over units; the
    classification metric of the paper (multi-label HoC, LitCovid; single-label KUAKE-QIC)."""
    return micro_f1(preds, golds, ctx)


@register_metric("macro_f1")
def macro_f1(preds, golds, ctx):
    """Macro-F1: the unweighted mean over types (labels) of each type's strict F1, counted over all units; an
    unreadable answer forms its own type with F1 0, so it lowers the mean."""
    out = set_f1([as_set(p) for p in preds], [as_set(g) for g in golds])
    f1s = [v["f1"] for v in out["per_type"].values()]
    return {"score": sum(f1s) / len(f1s) if f1s else 100.0, "per_type": out["per_type"],
            "unreadable": _n_unreadable(preds)}


def _kind(preds: Sequence, golds: Sequence) -> str:
    for s in (*golds, *preds):
        for x in s or ():
            if x and x[0] != UNPARSEABLE:
                return "re" if len(x) == 3 else "ner"
    return "ner"


@register_metric("grounded_f1")
def grounded_f1(preds, golds, ctx):
    """Span-grounded micro-F1: every mention (type, mention) is located in the unit's source text and matched by
    character span (every occurrence), every relation argument (type, head, tail) by its located, normalised
    surface form; a mention found nowhere is an ungrounded element (a hallucination: counted in ``ungrounded``)
    that matches nothing. Case, width and whitespace differences are forgiven; unreadable answers are wrong."""
    ps, gs = [as_set(p) for p in preds], [as_set(g) for g in golds]
    kind = _kind(ps, gs)
    ground = ground_entities if kind == "ner" else ground_relations
    texts = [c.get("text") or "" for c in ctx]
    gp = [ground(p if p is not None else {(UNPARSEABLE, f"#{i}", "")}, t) for i, (p, t) in enumerate(zip(ps, texts))]
    gg = [ground(g, t) for g, t in zip(gs, texts)]
    out = grounded_score(gp, gg, kind)
    out.pop("per_type")
    return {"score": out["f1"], **out}


@register_metric("accuracy")
def accuracy(preds, golds, ctx):
    """Accuracy: the share of units whose answer is the gold answer, compared after NFKC, case folding and
    whitespace collapsing (trailing full stops ignored); for multiple choice a bare option letter counts as
    the option it names (``meta['choices']``, A = first). An unreadable answer is wrong."""
    choices = [(c.get("meta") or {}).get("choices") or () for c in ctx]
    out = _accuracy(preds, golds, choices)
    return {"score": out["accuracy"], **out, "unreadable": _n_unreadable(preds)}


def _linear(x: Any) -> str:
    """A target as plain text: a string as is, a sectioned report as ``section：text`` lines."""
    if isinstance(x, dict):
        return "\n".join(f"{k}：{v}" for k, v in x.items())
    return "" if x is None else str(x)


def _overlap(preds, golds, ctx, fn) -> dict:
    total = 0.0
    for p, g, c in zip(preds, golds, ctx):
        if p is not None:
            lang = c.get("lang")
            total += fn(tokens(_linear(p), lang), tokens(_linear(g), lang))
    n = len(golds)
    return {"score": 100.0 * total / n if n else 100.0, "count": n, "unreadable": _n_unreadable(preds)}


@register_metric("rouge_l")
def rouge_l(preds, golds, ctx):
    """Mean ROUGE-L F-measure (beta 1, longest common subsequence) over units; units are characters for Chinese
    (no spaces or punctuation) and lower-cased words otherwise; a report is compared as ``section：text`` lines.
    An unreadable answer scores 0."""
    return _overlap(preds, golds, ctx, _rouge_l)


@register_metric("token_f1")
def token_f1(preds, golds, ctx):
    """Mean SQuAD-style bag-of-tokens F1 over units (tokens as for ROUGE-L); an unreadable answer scores 0."""
    return _overlap(preds, golds, ctx, _token_f1)


def _sacrebleu(preds, golds, which: str) -> dict:
    import sacrebleu

    groups: dict[str, list[int]] = {}
    for i, g in enumerate(golds):
        groups.setdefault(text_lang(_linear(g)), []).append(i)
    out: dict = {"count": len(golds), "unreadable": _n_unreadable(preds)}
    if not golds:
        return {"score": 0.0, **out}
    total = 0.0
    for lang, idx in sorted(groups.items()):
        hyp = [_linear(preds[i]) for i in idx]
        ref = [[_linear(golds[i]) for i in idx]]
        if which == "bleu":
            s = sacrebleu.corpus_bleu(hyp, ref, tokenize="zh" if lang == "zh" else "13a").score
        else:
            s = sacrebleu.corpus_chrf(hyp, ref).score
        out[f"to_{lang}"] = float(s)
        total += float(s) * len(idx)
    return {"score": total / len(golds), **out}


@register_metric("bleu")
def bleu(preds, golds, ctx):
    """Corpus BLEU (sacrebleu; tokenizer ``zh`` for Chinese references, ``13a`` otherwise), computed per target
    language and averaged weighted by unit count; an unreadable answer is an empty hypothesis."""
    return _sacrebleu(preds, golds, "bleu")


@register_metric("chrf")
def chrf(preds, golds, ctx):
    """Corpus chrF (sacrebleu defaults: character 6-grams, beta 2), per target language, count-weighted mean; an
    unreadable answer is an empty hypothesis."""
    return _sacrebleu(preds, golds, "chrf")


def _numbers(preds, golds) -> tuple[list[float], list[float]]:
    g = [float(x) for x in golds]
    lo, hi = (min(g), max(g)) if g else (0.0, 0.0)
    mid = (lo + hi) / 2
    # an unreadable answer becomes the far end of the gold range: as wrong as an in-range answer can be
    p = [float(x) if x is not None else (hi if gv < mid else lo) for x, gv in zip(preds, g)]
    return p, g


def _correlation(preds, golds, fn) -> dict:
    p, g = _numbers(preds, golds)
    if len(g) < 2 or len(set(g)) < 2 or len(set(p)) < 2:
        r = 100.0 if p == g else 0.0
    else:
        r = 100.0 * float(fn(p, g)[0])
    return {"score": r, "count": len(g), "unreadable": _n_unreadable(preds)}


@register_metric("pearson")
def pearson(preds, golds, ctx):
    """Pearson correlation (x100) of predicted and gold numbers (similarity scores); an unreadable answer is
    replaced by the far end of the gold range from its gold value. Constant inputs: 100 if equal, else 0."""
    from scipy.stats import pearsonr

    return _correlation(preds, golds, pearsonr)


@register_metric("spearman")
def spearman(preds, golds, ctx):
    """Spearman rank correlation (x100) of predicted and gold numbers; unreadable answers as for ``pearson``."""
    from scipy.stats import spearmanr

    return _correlation(preds, golds, spearmanr)


__all__ = ["freeze", "as_set", "prf"]
