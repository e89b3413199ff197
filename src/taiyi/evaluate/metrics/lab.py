"""Metrics that reproduce other scorers' comparison rules, for the named scoring conventions (conventions.yaml).

Why: a published number is only comparable with ours under the same rule. The paper's lab scores relations as
lower-cased, order-insensitive pairs and multiple choice by the option text after "Answer:" (DUTIR-BioNLP's
``eval_RE.py`` / ``eval_QA.py``); CBLUE scores single-label classification by accuracy.
"""

from __future__ import annotations

from taiyi.evaluate.metrics.registry import register_metric
from taiyi.evaluate.metrics.sets import UNPARSEABLE, prf


def _pair_key(x: tuple) -> tuple:
    return (str(x[0]).lower(), frozenset((str(x[1]).lower(), str(x[2]).lower())))


@register_metric("pair_f1_uncased")
def pair_f1_uncased(preds, golds, ctx):
    """The paper's lab's relation F1 (DUTIR ``eval_RE.py``): per document, (type, {head, tail}) lower-cased and
    order-insensitive, TP/FP/FN summed over documents; an unreadable answer is one false positive. Oracle: 100."""
    from taiyi.evaluate.metrics.standard import as_set

    tp = fp = fn = 0
    for i, (p, g) in enumerate(zip(preds, golds)):
        ps = {("#", i)} if p is None else {_pair_key(x) if x[0] != UNPARSEABLE else ("#", i, x[1]) for x in as_set(p)}
        gs = {_pair_key(x) for x in as_set(g)}
        tp, fp, fn = tp + len(ps & gs), fp + len(ps - gs), fn + len(gs - ps)
    out = prf(tp, fp, fn)
    return {"score": out["f1"], **out}


def _after_label(answer: str, lang: str) -> str:
    """The lab's reading of an answer: the text after the first colon when an "Answer:" / "答案：" label is there."""
    colon, label = ("：", "答案：") if lang == "zh" else (":", "Answer:")
    return answer.split(colon)[1].strip() if label in answer else answer.strip()


@register_metric("option_text_accuracy")
def option_text_accuracy(preds, golds, ctx):
    """The paper's lab's multiple-choice accuracy (DUTIR ``eval_QA.py``): the raw answer, after an "Answer:" /
    "答案：" label, must be exactly the gold option's text (case-sensitive; a letter alone is wrong). Oracle: 100
    in the text phrasings only."""
    correct = sum(1 for c, g in zip(ctx, golds)
                  if c.get("answer") is not None and _after_label(c["answer"], c.get("lang") or "en") == str(g).strip())
    n = len(golds)
    return {"score": 100.0 * correct / n if n else 100.0, "correct": correct, "total": n}


@register_metric("label_accuracy")
def label_accuracy(preds, golds, ctx):
    """Exact-match accuracy of label sets (CBLUE's accuracy for single-label classification; subset accuracy for
    multi-label): a unit is right when its predicted labels are exactly the gold ones; unreadable is wrong."""
    from taiyi.evaluate.metrics.standard import as_set

    correct = sum(1 for p, g in zip(preds, golds) if p is not None and as_set(p) == as_set(g))
    n = len(golds)
    return {"score": 100.0 * correct / n if n else 100.0, "correct": correct, "total": n}


LEAD_PHRASES = ("Result:", "上述文本被分类为", "上述文本对应的类别是", "上述文本的分类结果为")


def _lab_labels(answer: str | None, lang: str, options) -> set[str] | None:
    """The lab's reading of a classification answer (``eval_TC.py``): None without a lead phrase (the lab skips
    the answer), else the text after the last colon split on ';' (Chinese: spaces removed), display names mapped
    to raw labels."""
    if answer is None or not any(p in answer for p in LEAD_PHRASES):
        return None
    if lang == "zh":
        parts = answer.strip().split("：")[-1].replace(" ", "").split(";")
    else:
        parts = [x.strip() for x in answer.strip().split(":")[-1].strip().split(";")]
    raw = {str(d): str(r) for r, d in options or ()} | {str(r): str(r) for r, _ in options or ()}
    return {raw.get(x, x) for x in parts}


@register_metric("lead_phrase_label_f1")
def lead_phrase_label_f1(preds, golds, ctx):
    """The paper's lab's classification F1 (DUTIR ``eval_TC.py``): only answers with a lead phrase ("Result:",
    "上述文本被分类为", ...) are scored, as the text after the last colon split on ';'; label-set micro-F1 over
    them. Answers without one are skipped as the lab does, and counted in ``skipped``; ``score`` is None when
    none has one. Oracle ceiling: 100 for answers written in Taiyi's format."""
    from taiyi.evaluate.metrics.standard import as_set

    tp = fp = fn = skipped = 0
    for g, c in zip(golds, ctx):
        got = _lab_labels(c.get("answer"), c.get("lang") or "en", (c.get("meta") or {}).get("options"))
        if got is None:
            skipped += 1
            continue
        gs = {x[0] for x in as_set(g)}
        tp, fp, fn = tp + len(got & gs), fp + len(got - gs), fn + len(gs - got)
    if skipped == len(golds):
        return {"score": None, "skipped": skipped, "note": "no answer has the lab's lead phrase"}
    out = prf(tp, fp, fn)
    return {"score": out["f1"], **out, "skipped": skipped}
