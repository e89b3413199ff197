"""Text-pair codec (similarity / entailment / relevance: CHIP-STS, KUAKE-QQR, KUAKE-QTR): pick one label in words.

Why: the pair benchmarks are single-label decisions over two texts; the prompt offers the labels in words
(from the catalog's ``label_names``) and the answer names one of them.

Target: the raw label string. ``meta``: ``lang``, ``phrasing``, ``options`` ([[raw, display], ...] offered).
"""

from __future__ import annotations

from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.option_scan import scan
from taiyi.instructions.tasks.labels import fill, label_order, offered_names
from taiyi.text import record_lang

TASK = "pair"


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "pairs" or not str(record.get("label", "")).strip():
        return []
    lang = record_lang(record, info)
    tpl = load_templates(TASK, lang)
    target = str(record["label"])
    options = offered_names(info, label_order(info, [target]), lang)
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "options": options}
    sep = "、" if lang == "zh" else "; "
    user = fill(prompt["text"], text_1=record["text_1"].strip(), text_2=record["text_2"].strip(),
                options=sep.join(d for _, d in options))
    return [Instruction.for_record(record, TASK, prompt, lang=lang, user=user, answer=render(target, meta),
                                   target=target, meta=meta, variant=0)]


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    disp = dict((r, d) for r, d in meta["options"])
    return tpl.answers[k % len(tpl.answers)].replace("{label}", disp.get(target, target))


def parse(text: str | None, meta: dict) -> str:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    hits = scan(str(text), meta["options"])
    if not hits:
        raise ParseError(f"no offered label named in answer: {str(text)[:80]!r}")
    return hits[0][1]  # the first label named (a trailing sentence may mention others)


@register_task(TASK)
class PairTask(Task):
    """One relation label per text pair."""

    unit = "item"
    stage = 1
    max_new_tokens = 64
    metrics = ("label_f1", "accuracy")
