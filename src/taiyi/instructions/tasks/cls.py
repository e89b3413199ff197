"""Text classification codec (single and multi-label): "which of these categories fit this text" and back.

Why: CHIP-CTC, KUAKE-QIC, HoC, LitCovid ... are label sets over a text. The prompt lists label options in
words; in training the options are sub-sampled (always keeping the gold labels) and now and then the gold
labels are left out on purpose, whose answer is the "none of these" answer — so the model learns to refuse.

Target: sorted list of raw labels. ``meta``: ``lang``, ``phrasing``, ``options`` ([[raw, display], ...] offered).
"""

from __future__ import annotations

from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.option_scan import scan
from taiyi.instructions.tasks.typed_answers import is_empty_answer
from taiyi.instructions.tasks.labels import fill, label_order, offered_names
from taiyi.text import record_lang

TASK = "cls"
MAX_OPTIONS = 12  # train mode: at most this many options listed
NONE_PROB = 0.1  # train mode: chance of a prompt whose options leave out every gold label


def gold_target(record: dict) -> list[str]:
    return sorted({str(x) for x in record.get("labels", []) if str(x).strip()})


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "text" or not record.get("text", "").strip():
        return []
    lang = record_lang(record, info)
    tpl = load_templates(TASK, lang)
    gold = gold_target(record)
    labels = label_order(info, gold)
    if not labels:
        return []
    if mode == "eval":
        chosen = labels
    else:
        others = [x for x in labels if x not in gold]
        if others and rng.random() < NONE_PROB:
            chosen = rng.sample(others, min(len(others), rng.randint(2, MAX_OPTIONS)))
        else:
            extra = rng.sample(others, min(len(others), max(0, rng.randint(2, MAX_OPTIONS) - len(gold))))
            chosen = gold + extra
        rng.shuffle(chosen)
        chosen = sorted(chosen, key=labels.index) if rng.random() < 0.5 else chosen
    target = sorted(x for x in gold if x in chosen)
    prompt = tpl.prompt(rng)
    offered = offered_names(info, chosen, lang)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "options": offered}
    sep = "、" if lang == "zh" else "; "
    user = fill(prompt["text"], text=record["text"].strip(), options=sep.join(d for _, d in offered))
    return [Instruction.for_record(record, TASK, prompt, lang=lang, user=user, answer=render(target, meta),
                                   target=target, meta=meta, variant=0)]


def render(target: list, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    if not target:
        return tpl.empty[k % len(tpl.empty)]
    disp = dict((r, d) for r, d in meta["options"])
    sep = tpl.raw.get("sep", "; ")
    text = tpl.answers[k % len(tpl.answers)].replace("{labels}", sep.join(disp.get(t, t) for t in target))
    if parse(text, meta) != sorted(target):
        raise ValueError(f"labels {target!r} do not read back from {text!r} (option names overlap?)")
    return text


def parse(text: str | None, meta: dict) -> list[str]:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    found = sorted({raw for _, raw in scan(str(text), meta["options"])})
    if found:
        return found
    tpl = load_templates(TASK, meta["lang"])
    if is_empty_answer(str(text), tpl.empty):
        return []
    raise ParseError(f"no offered label named in answer: {str(text)[:80]!r}")


@register_task(TASK)
class ClsTask(Task):
    """Label sets scored by micro-F1 over items."""

    unit = "item"
    stage = 1
    max_new_tokens = 128
    metrics = ("label_f1", "macro_f1")
    types_key = "labels"
    only_offered_types = True

    def restrict(self, record: dict, keep) -> dict:
        """Only the labels the benchmark asks for (renamed, sorted unique)."""
        if record.get("schema") == "text":
            record["labels"] = sorted({lab for lab in map(keep, record.get("labels", [])) if lab is not None})
        return record

    def benchmark_info(self, info: dict, types, bench) -> dict:
        info = super().benchmark_info(info, types, bench)
        info["multi_label"] = bench.multi_label
        return info
