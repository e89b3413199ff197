"""Multi-turn dialogue codec (doctor-patient consultations: MedDialog, BenTsao multi-turn data).

Why: the paper's stage 2 adds multi-round dialogue so the model keeps context across turns. A dialogue record
becomes one chat instruction carrying every turn; every assistant turn is a training target (the trainer puts
loss on all assistant turns). For evaluation the target is the last assistant turn, generated from the turns
before it.

Target: the text of the last assistant turn.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, unwrap
from taiyi.instructions.tasks.base import Instruction, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import record_lang

TASK = "dialogue"


SPEAKER_LABELS = ("医生", "大夫", "doctor", "assistant", "助手")


def assistant_text(content: str, lang: str) -> str | None:
    """An assistant turn as trained and scored: stripped, speaker labels of the raw data removed ("医生:…")."""
    return canonical(content, load_templates(TASK, lang).answers, SPEAKER_LABELS)


def _turns(record: dict, lang: str | None = None) -> list[dict]:
    """Turns up to and including the last assistant turn (trailing user turns have no reply to learn);
    assistant contents in ``assistant_text`` form."""
    lang = lang or record_lang(record, {}, " ".join(str(t.get("content", "")) for t in (record.get("turns") or [])[:2]))
    turns = []
    for t in record.get("turns") or []:
        content = str(t.get("content", "")).strip()
        if t.get("role") == "assistant":
            content = assistant_text(content, lang) or ""
        if content:
            turns.append({"role": t.get("role"), "content": content})
    last = max((i for i, t in enumerate(turns) if t.get("role") == "assistant"), default=-1)
    return turns[: last + 1]


def gold_target(record: dict) -> str | None:
    """The last assistant turn of a dialogue record (None when it has none)."""
    if record.get("schema") != "dialogue":
        return None
    turns = _turns(record)
    return turns[-1]["content"].strip() if turns else None


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    lang = record_lang(record, info, " ".join(str(t.get("content", "")) for t in (record.get("turns") or [])[:2]))
    turns = _turns(record, lang)
    if not turns or not any(t["role"] == "user" for t in turns):
        return []
    tpl = load_templates(TASK, lang)
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "n_turns": len(turns)}
    messages, wrapped = [], False
    for t in turns:
        content = t["content"].strip()
        if t["role"] == "user" and not wrapped:
            content, wrapped = prompt["text"].replace("{message}", content), True
        elif t["role"] == "assistant":
            content = render(content, meta)
        messages.append({"role": t["role"], "content": content})
    return [
        Instruction.for_record(
            record, TASK, prompt, lang=lang,
            messages=messages,
            target=turns[-1]["content"].strip(),
            meta=meta,
        )
    ]


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


def parse(text: str, meta: dict) -> str:
    return unwrap(text, load_templates(TASK, meta["lang"]).answers, labels=SPEAKER_LABELS)


@register_task(TASK)
class DialogueTask(Task):
    """The next doctor turn, scored by ROUGE-L."""

    unit = "item"
    stage = 2
    max_new_tokens = 256
    metrics = ("rouge_l",)
