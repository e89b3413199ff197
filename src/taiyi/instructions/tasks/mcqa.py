"""Multiple-choice QA codec (MedQA-USMLE, MedQA-MCMLE, PubMedQA yes/no/maybe with its context).

Why: exam-style QA is scored by whether the chosen option is right, whatever way the model names it — the
option text, its letter ("B", "(B)", "选B", "答案是 B") or both. The prompt lists the options with letters;
``meta["choices"]`` keeps them in letter order so parse maps letters back, and evaluation can instead score
each option by log-likelihood.

Target: the answer text (one of the record's choices).
"""

from __future__ import annotations

import re
import string
from functools import cache

from taiyi.files import DataError
from taiyi.instructions.tasks.answer_text import strip_label
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.text import nfkc, record_lang

TASK = "mcqa"
QA_TYPES = ("multiple_choice", "yesno")
LETTERS = string.ascii_uppercase


def gold_target(record: dict) -> str | None:
    """The answer text of a multiple-choice/yes-no qa record (None when the record is not one or is unlabelled)."""
    if record.get("schema") != "qa" or record.get("type") not in QA_TYPES or not record.get("choices"):
        return None
    if not record.get("answer"):
        return None
    answer = record["answer"][0]
    if answer not in record["choices"]:
        raise DataError(f"record {record['id']} ({record.get('dataset')}): answer {answer!r} not among choices {record['choices']}")
    return answer


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    target = gold_target(record)
    if target is None:
        return []
    lang = record_lang(record, info, record.get("question", ""))
    tpl = load_templates(TASK, lang)
    choices = list(record["choices"])
    if len(choices) > len(LETTERS):
        raise DataError(f"record {record['id']}: {len(choices)} choices, at most {len(LETTERS)} supported")
    letters = LETTERS[: len(choices)]
    question = record["question"].strip()
    if record.get("context", "").strip():
        question = tpl.raw["context_format"].replace("{context}", record["context"].strip()).replace("{question}", question)
    options = "\n".join(
        tpl.raw["option_format"].replace("{letter}", letter).replace("{text}", text) for letter, text in zip(letters, choices)
    )
    prompt = tpl.prompt(rng)
    phrasing = rng.randrange(len(tpl.answers))
    meta = {"lang": lang, "phrasing": phrasing, "choices": choices, "qtype": record["type"]}
    user = (
        prompt["text"].replace("{n_options}", str(len(choices))).replace("{options}", options).replace("{question}", question)
    )
    answer = render(target, meta)
    return [
        Instruction.for_record(
            record, TASK, prompt, lang=lang,
            user=user,
            answer=answer,
            target=target,
            meta=meta,
        )
    ]


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    letter = LETTERS[meta["choices"].index(target)]
    return tpl.answers[k].replace("{letter}", letter).replace("{text}", target)


@cache
def _phrasing_patterns(lang: str) -> tuple[tuple[re.Pattern, bool, bool], ...]:
    """Each answer phrasing as an anchored regex, letter+text forms first, then letter-only, then text-only."""
    out = []
    for p in load_templates(TASK, lang).answers:
        rx = re.escape(p).replace(r"\{letter\}", r"(?P<letter>[A-Z])").replace(r"\{text\}", r"(?P<text>.+)")
        has_l, has_t = "{letter}" in p, "{text}" in p
        out.append((re.compile(rx, re.DOTALL), has_l, has_t))
    return tuple(sorted(out, key=lambda x: (not (x[1] and x[2]), not x[1])))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", nfkc(text)).strip().strip("。.!！").strip().casefold()


_COMMON_WORD_CHOICES = {"yes", "no", "maybe", "是", "否", "不确定", "可能"}
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)、])\s+")
_LEAD_LETTER = re.compile(r"^[(\[（【]?([A-Z])[)\]）】]?(?=$|[\s.．、:：,，;；)）])")
_CUE_LETTER = re.compile(
    r"(?i:答案|正确答案|选项|应选|选择|选|answer|option|choice|choose)\s*(?i:是|为|应为|应该是|应当是|is|:|：)?\s*"
    r"(?i:option\s*)?[(\[（【]?\s*([A-Z])\s*[)\]）】]?(?![A-Za-z])"
)
# "<any lead-in>: C" — a lone option letter closing the answer after a colon (e.g. a wrong task's answer prefix).
_TAIL_LETTER = re.compile(r"[:：]\s*[(\[（【]?([A-Z])[)\]）】]?[.。]?\s*$")


def parse(text: str, meta: dict) -> str:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    choices: list[str] = meta["choices"]
    letters = LETTERS[: len(choices)]
    raw = str(text).strip()
    # 1. an exact answer phrasing
    for rx, has_l, has_t in _phrasing_patterns(meta["lang"]):
        m = rx.fullmatch(raw)
        if not m:
            continue
        if has_l and m.group("letter") not in letters:
            continue
        if has_l and has_t:
            if choices[letters.index(m.group("letter"))] == m.group("text"):
                return m.group("text")
        elif has_l:
            return choices[letters.index(m.group("letter"))]
        elif m.group("text") in choices:
            return m.group("text")
    # 2. sloppy output
    by_norm = {}
    for c in choices:
        by_norm.setdefault(_norm(c), c)
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    for cand in (raw, lines[0]) if lines else (raw,):
        body = strip_label(_BULLET.sub("", cand.strip()), ["正确答案", "correct answer", "the answer is", "答案是"])
        body = _BULLET.sub("", body).strip()
        if _norm(body) in by_norm:
            return by_norm[_norm(body)]
        m = _LEAD_LETTER.match(nfkc(body))
        if m and m.group(1) in letters:
            return choices[letters.index(m.group(1))]
    norm_raw = nfkc(raw)
    for m in _CUE_LETTER.finditer(norm_raw):
        if m.group(1) in letters:
            return choices[letters.index(m.group(1))]
    m = _TAIL_LETTER.search(norm_raw)
    if m and m.group(1) in letters:
        return choices[letters.index(m.group(1))]
    # 3. an option's text inside a longer answer: the earliest, longest one. Words like yes/no/maybe count only
    # at the very start ("Yes, because ..."), ASCII options only as whole words.
    low = _norm(raw)
    hits = []
    for n, c in by_norm.items():
        for m in re.finditer(re.escape(n), low) if n else ():
            pos, end = m.start(), m.end()
            if n.isascii() and ((pos > 0 and low[pos - 1].isalnum()) or (end < len(low) and low[end].isalnum())):
                continue
            if n in _COMMON_WORD_CHOICES and pos > 0:
                continue
            hits.append((pos, -len(n), c))
            break
    if hits:
        return min(hits)[2]
    raise ParseError(f"no option named in answer: {raw[:80]!r}")


@register_task(TASK)
class McqaTask(Task):
    """Multiple choice: the chosen option's text (or letter) against the gold answer."""

    unit = "item"
    stage = 2
    max_new_tokens = 64
    metrics = ("accuracy",)
