"""Title / summary generation codec (the paper's TT-ds): abstract -> title, text -> summary.

Why: title generation teaches the model to condense biomedical text and comes free with every PubMed abstract.
Sources: t2t records whose ``text_2_name`` is a title or summary (``text_1_name`` abstract/text), and kb records
with a ``title`` passage and abstract passages (the title is generated from the abstract). Scored by ROUGE-L.

Target: the title (or summary) text.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, unwrap
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import record_lang

TASK = "title"
TITLE_NAMES = {"title", "标题", "题目"}
SUMMARY_NAMES = {"summary", "摘要总结", "总结", "概要", "summarization"}
SOURCE_NAMES = {"abstract", "text", "body", "article", "document", "摘要", "正文", "原文", "passage", "context"}


def gold_source(record: dict) -> tuple[str, str, str] | None:
    """(kind 'title'|'summary', source text, target text) of a record, or None when it has no title/summary."""
    if record.get("schema") == "t2t":
        src, tgt = str(record.get("text_1_name", "")).strip().lower(), str(record.get("text_2_name", "")).strip().lower()
        kind = "title" if tgt in TITLE_NAMES else "summary" if tgt in SUMMARY_NAMES else None
        if kind is None or src not in SOURCE_NAMES:
            return None
        t1, t2 = str(record.get("text_1", "")).strip(), str(record.get("text_2", "")).strip()
        return (kind, t1, t2) if t1 and t2 else None
    if record.get("schema") == "kb":
        titles = [" ".join(p["text"]).strip() for p in record.get("passages", []) if str(p.get("type", "")).lower() == "title"]
        body = [" ".join(p["text"]).strip() for p in record.get("passages", []) if str(p.get("type", "")).lower() != "title"]
        title, text = " ".join(t for t in titles if t), " ".join(b for b in body if b)
        return ("title", text, title) if title and text else None
    return None


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    found = gold_source(record)
    if found is None:
        return []
    kind, text, target = found
    lang = record_lang(record, info, text)
    tpl = load_templates(TASK, lang)
    target = canonical_target(target, kind, lang)
    if not target:
        return []
    prompts = [p for p in tpl.prompts if p.get("kind", "title") == kind]
    prompt = prompts[rng.randrange(len(prompts))]
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers[kind])), "kind": kind}
    return [
        Instruction.for_record(
            record, TASK, prompt, lang=lang,
            user=prompt["text"].replace("{text}", text),
            answer=render(target, meta),
            target=target,
            meta=meta,
        )
    ]


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers[meta.get("kind", "title")]
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


TITLE_LABELS = ("标题", "题目", "title", "suggested title", "摘要", "总结", "summary")


def canonical_target(target: str, kind: str, lang: str) -> str | None:
    """The gold title/summary as trained and scored (labels the raw text carries removed; a title is one line)."""
    out = canonical(target, load_templates(TASK, lang).answers[kind], TITLE_LABELS)
    if out and kind == "title":
        out = _unquote(" ".join(out.split()))
    return out or None


_QUOTES = (("《", "》"), ("“", "”"), ('"', '"'), ("「", "」"))


def _unquote(text: str) -> str:
    for a, b in _QUOTES:
        if len(text) > 2 and text.startswith(a) and text.endswith(b) and a not in text[1:-1] and b not in text[1:-1]:
            return text[1:-1].strip()
    return text


def parse(text: str, meta: dict) -> str:
    kind = meta.get("kind", "title")
    out = unwrap(text, load_templates(TASK, meta["lang"]).answers[kind], labels=TITLE_LABELS)
    if kind == "title":
        out = _unquote(next(ln.strip() for ln in out.splitlines() if ln.strip()))  # one line; drop what follows
        if not out:
            raise ParseError(f"empty title in {text[:60]!r}")
    return out


@register_task(TASK)
class TitleTask(Task):
    """Titles and summaries, scored by ROUGE-L."""

    unit = "item"
    stage = 1
    max_new_tokens = 256
    metrics = ("rouge_l",)
