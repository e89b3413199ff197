"""Text -> structured report codec (the paper's TT-ts: IMCS-V2-MRG report generation, MedDialog case -> advice).

Why: report generation asks for fixed sections ("主诉：…\\n现病史：…"); evaluation must read the sections back
whether the model writes "section: text" lines, 【section】 headers, markdown headings or JSON, so the score
compares section contents rather than formatting.

Source: a t2t record whose ``text_2`` is a report made of "section：content" lines (content may continue on
the following lines). Target: ``{section: content}`` (dict in report order; content lines joined with "\\n",
blank lines dropped). ``meta["sections"]`` lists the section names the prompt asks for; parse keys on them.
"""

from __future__ import annotations

import json
import re

from taiyi.instructions.tasks.answer_text import strip_label
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import nfkc, record_lang

TASK = "report"
_GOLD_HEADER = re.compile(r"^\s*([^：:\n]{1,24}?)\s*[：:]\s*(.*)$")
_INTRO = re.compile(r"(如下|as follows|here is the report)\s*[：:]?\s*$", re.IGNORECASE)


def split_report(text: str, fallback: str = "report") -> dict[str, str]:
    """A report text as {section: content}: a line "name：rest" opens a section; other lines continue it.

    Text before the first header goes to ``fallback``; an intro line ("…报告如下：") is dropped; a repeated
    section name has its contents merged.
    """
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _GOLD_HEADER.match(line)
        if m and current is None and not m.group(2).strip() and _INTRO.search(line):
            continue
        if m:
            current = m.group(1).strip()
            sections.setdefault(current, [])
            if m.group(2).strip():
                sections[current].append(m.group(2).strip())
        else:
            if current is None:
                current = fallback
                sections.setdefault(current, [])
            sections[current].append(line.strip())
    return {k: "\n".join(v) for k, v in sections.items()}


def gold_target(record: dict) -> dict[str, str] | None:
    if record.get("schema") != "t2t" or not str(record.get("text_2", "")).strip():
        return None
    target = split_report(str(record["text_2"]), fallback=str(record.get("text_2_name") or "report").strip() or "report")
    return target or None


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    target = gold_target(record)
    text = str(record.get("text_1", "")).strip()
    if target is None or not text:
        return []
    lang = record_lang(record, info, str(record.get("text_1", "")))
    tpl = load_templates(TASK, lang)
    prompt = tpl.prompt(rng)
    sections = list(target)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "sections": sections}
    user = prompt["text"].replace("{sections}", tpl.raw["section_separator"].join(sections)).replace("{text}", text)
    return [
        Instruction.for_record(
            record, TASK, prompt, lang=lang,
            user=user,
            answer=render(target, meta),
            target=target,
            meta=meta,
        )
    ]


def render(target: dict[str, str], meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    style = tpl.answers[meta["phrasing"] if phrasing is None else phrasing]
    colon = "：" if meta["lang"] == "zh" else ": "
    kind = style["style"]
    if kind == "json":
        return json.dumps(target, ensure_ascii=False)
    if kind == "lines":
        body = "\n".join(f"{k}{colon}{v}" for k, v in target.items())
    elif kind == "brackets":
        body = "\n".join((f"【{k}】{v}" if meta["lang"] == "zh" else f"[{k}] {v}") for k, v in target.items())
    elif kind == "markdown":
        body = "\n".join(f"## {k}\n{v}" for k, v in target.items())
    else:
        raise ValueError(f"report templates ({meta['lang']}): unknown answer style {kind!r}")
    return style.get("intro", "") + body


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", nfkc(name)).strip().casefold()


def _header_pattern(sections: list[str]) -> re.Pattern:
    names = sorted({_key(s) for s in sections}, key=len, reverse=True)
    alt = "|".join(re.escape(n) for n in names) if names else r"[^:\n\]】#*]{1,24}?"
    return re.compile(
        rf"^\s*(?:[-*•·]\s+|\d+[.)、]\s*)?(?:#+\s*)?(?:\*\*|__)?\s*[\[【]?\s*(?P<name>{alt})\s*[\]】]?\s*(?:\*\*|__)?"
        rf"\s*(?:[:：]|(?<=[\]】])|$)\s*(?:\*\*)?\s*(?P<rest>.*)$",
        re.IGNORECASE,
    )


def _from_json(text: str, canon: dict[str, str]) -> dict[str, str] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not obj:
        return None
    out = {}
    for k, v in obj.items():
        v = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        out[canon.get(_key(str(k)), str(k).strip())] = v.strip()
    return out


def parse(text: str, meta: dict) -> dict[str, str]:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    raw = str(text).strip()
    sections = list(meta.get("sections") or [])
    canon = {_key(s): s for s in sections}
    parsed = _from_json(raw, canon)
    if parsed is not None:
        return parsed
    header = _header_pattern(sections)
    out: dict[str, list[str]] = {}
    current = None
    for line in strip_label(raw, []).splitlines():
        m = header.match(nfkc(line)) if len(nfkc(line)) == len(line) else None
        if m is None:
            m = header.match(line)
        if m:
            current = canon.get(_key(m.group("name")), m.group("name").strip())
            out.setdefault(current, [])
            rest = line[m.start("rest"):].strip() if m.group("rest").strip() else ""
            if rest:
                out[current].append(rest)
        elif current is not None:
            if not line.strip():
                # a blank line after the last section: what follows is commentary, not report
                if not sections or current == sections[-1]:
                    current = None
                continue
            out[current].append(line.strip())
    if not out:
        raise ParseError(f"no report section found in {raw[:80]!r}")
    return {k: "\n".join(v) for k, v in out.items()}


def _linear(report: dict[str, str] | None) -> str:
    return "\n".join(f"{k}：{v}" for k, v in (report or {}).items())


@register_task(TASK)
class ReportTask(Task):
    """Sectioned medical reports, scored by ROUGE-L of the linearised report."""

    unit = "item"
    stage = 1
    max_new_tokens = 512
    metrics = ("rouge_l",)
