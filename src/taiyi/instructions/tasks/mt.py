"""Translation codec, Chinese <-> English (ParaMed, WMT biomedical Medline), from t2t records.

Why: the paper trains both translation directions from each parallel pair and scores BLEU (sacrebleu, ``zh``
tokenisation for Chinese targets) and chrF. A t2t record is a translation pair when both ``text_1_name`` and
``text_2_name`` name languages ("en"/"zh", "English"/"Chinese", "英文"/"中文").

Target: the translation. The prompt is in the source text's language.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, unwrap
from taiyi.instructions.tasks.base import Instruction, load_templates
from taiyi.instructions.tasks.registry import Task, register_task

TASK = "mt"
LANGUAGE_ALIASES = {
    "en": "en", "eng": "en", "english": "en", "英文": "en", "英语": "en",
    "zh": "zh", "zho": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh", "zh-cn": "zh",
}  # fmt: skip


def record_languages(record: dict) -> tuple[str, str] | None:
    """(language of text_1, language of text_2) for a translation t2t record, else None."""
    if record.get("schema") != "t2t":
        return None
    a = LANGUAGE_ALIASES.get(str(record.get("text_1_name", "")).strip().lower())
    b = LANGUAGE_ALIASES.get(str(record.get("text_2_name", "")).strip().lower())
    if a is None or b is None or a == b:
        return None
    return a, b


def gold_pairs(record: dict, mode: str = "train") -> list[tuple[str, str, str, str]]:
    """(source text, source lang, target text, target lang): text_1 -> text_2, plus the reverse when training."""
    langs = record_languages(record)
    if langs is None:
        return []
    t1, t2 = str(record.get("text_1", "")).strip(), str(record.get("text_2", "")).strip()
    if not (t1 and t2):
        return []
    pairs = [(t1, langs[0], t2, langs[1])]
    if mode == "train":
        pairs.append((t2, langs[1], t1, langs[0]))
    # targets in canonical form (prompt language = source language, whose phrasings wrap the answer)
    out = []
    for src_text, src, tgt_text, tgt in pairs:
        tgt_text = canonical(tgt_text, load_templates(TASK, src).answers, MT_LABELS)
        if tgt_text:
            out.append((src_text, src, tgt_text, tgt))
    return out


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    out = []
    for src_text, src, tgt_text, tgt in gold_pairs(record, mode):
        tpl = load_templates(TASK, src)
        names = tpl.raw["language_names"]
        prompt = tpl.prompt(rng)
        meta = {"lang": src, "phrasing": rng.randrange(len(tpl.answers)), "source_lang": src, "target_lang": tgt}
        user = prompt["text"].replace("{src}", names[src]).replace("{tgt}", names[tgt]).replace("{text}", src_text)
        out.append(
            Instruction.for_record(
                record, TASK, prompt, lang=src,
                user=user,
                answer=render(tgt_text, meta),
                target=tgt_text,
                meta=meta,
                variant=f"{src}2{tgt}",
            )
        )
    return out


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


MT_LABELS = ("译文", "翻译", "翻译结果", "translation", "english translation", "chinese translation", "英文译文", "中文译文")


def parse(text: str, meta: dict) -> str:
    return unwrap(text, load_templates(TASK, meta["lang"]).answers, labels=MT_LABELS)


@register_task(TASK)
class MtTask(Task):
    """Translation in both directions, scored by corpus BLEU and chrF."""

    unit = "item"
    stage = 1
    max_new_tokens = 256
    metrics = ("bleu", "chrf")
