"""Question summarisation codec (MeQSum): a long consumer health question -> the short question it asks.

Why: MeQSum pairs a patient's message (greetings, history, several sentences) with a one-sentence question a
clinician would search for; the ``title`` codec's prompts ask for a title of an abstract, which is a different
skill. The source is a t2t record (``text_1`` the message, ``text_2`` the summary) or a qa record (``question``
the message, the first ``answer`` the summary), whichever the reader writes. Scored by ROUGE-L.

Target: the summary text (stripped; an answer label the raw data carries is removed). ``meta``: ``lang``, ``phrasing``.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, unwrap
from taiyi.instructions.tasks.base import Instruction, load_templates
from taiyi.instructions.tasks.labels import fill
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import record_lang

TASK = "summ"
LABELS = ("summary", "summarized question", "question summary", "short question", "总结", "概括", "问题摘要", "简化问题")


def gold_source(record: dict) -> tuple[str, str] | None:
    """(message, summary) of a t2t or qa record, or None when either is empty."""
    if record.get("schema") == "t2t":
        src, tgt = record.get("text_1", ""), record.get("text_2", "")
    elif record.get("schema") == "qa":
        answers = [a for a in record.get("answer") or [] if str(a).strip()]
        src, tgt = record.get("question", ""), (answers[0] if answers else "")
    else:
        return None
    src, tgt = str(src).strip(), str(tgt).strip()
    return (src, tgt) if src and tgt else None


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    found = gold_source(record)
    if found is None:
        return []
    source, summary = found
    lang = record_lang(record, info, source)
    tpl = load_templates(TASK, lang)
    target = canonical(summary, tpl.answers, LABELS)
    if not target:
        return []
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers))}
    return [Instruction.for_record(record, TASK, prompt, lang=lang, user=fill(prompt["text"], text=source),
                                   answer=render(target, meta), target=target, meta=meta)]


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


def parse(text: str | None, meta: dict) -> str:
    return unwrap(text, load_templates(TASK, meta["lang"]).answers, LABELS)


@register_task(TASK)
class SummTask(Task):
    """Short questions summarising long ones, scored by ROUGE-L."""

    unit = "item"
    stage = 1
    max_new_tokens = 96
    metrics = ("rouge_l",)
