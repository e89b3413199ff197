"""Free-answer QA codec (single-turn medical questions: BenTsao/Huatuo instruction data, cMedQA-like consultations).

Why: most of Taiyi's Chinese QA data is free text; the model learns to answer in several wordings and evaluation
strips any answer label back to the plain answer and scores overlap with the reference (char-level for Chinese).

Target: the answer text.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, unwrap
from taiyi.instructions.tasks.base import Instruction, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import record_lang

TASK = "qa"
QA_TYPES = ("free", "factoid")
MAX_ANSWERS_PER_QUESTION = 3  # train mode: one instruction per distinct reference answer, at most this many


def gold_targets(record: dict) -> list[str]:
    """Distinct non-empty reference answers of a free/factoid qa record, in record order (``canonical`` form)."""
    if record.get("schema") != "qa" or record.get("type") not in QA_TYPES:
        return []
    seen: list[str] = []
    phrasings = load_templates(TASK, record_lang(record, {}, record.get("question", ""))).answers
    for a in record.get("answer") or []:
        a = canonical(str(a), phrasings)
        if a and a not in seen:
            seen.append(a)
    return seen


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    targets = gold_targets(record)
    if not targets or not record.get("question", "").strip():
        return []
    if mode == "eval":
        targets = targets[:1]
    lang = record_lang(record, info, record.get("question", ""))
    tpl = load_templates(TASK, lang)
    question = record["question"].strip()
    if record.get("context", "").strip():
        question = tpl.raw["context_format"].replace("{context}", record["context"].strip()).replace("{question}", question)
    out = []
    for i, target in enumerate(targets[:MAX_ANSWERS_PER_QUESTION]):
        prompt = tpl.prompt(rng)
        meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers))}
        out.append(
            Instruction.for_record(
                record, TASK, prompt, lang=lang,
                user=prompt["text"].replace("{question}", question),
                answer=render(target, meta),
                target=target,
                meta=meta,
                variant=i,
            )
        )
    return out


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


def parse(text: str, meta: dict) -> str:
    return unwrap(text, load_templates(TASK, meta["lang"]).answers)


@register_task(TASK)
class QaTask(Task):
    """Free-text answers, scored by ROUGE-L against the reference."""

    unit = "item"
    stage = 2
    max_new_tokens = 256
    metrics = ("rouge_l",)
