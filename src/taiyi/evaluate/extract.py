"""Answer extraction in front of the task codecs: a strict reading and a flexible one (as lm-eval's filters).

Why: a tuned model answers in the trained format, which the codec reads as is (the *strict* reading). A base
model, an API model or the released Taiyi models answer in their own words: "The answer is (b).", "答案：d",
"**B**", "【答案】D", "D项", "Based on the abstract, yes.", reasoning followed by a final answer, a
``<think>`` block, "relation: [a, b]; [c, d]" (Taiyi's RE format), a JSON object. The *flexible* reading first
cleans such an answer (think blocks and markdown removed), finds the final answer (multiple choice: the last
strong answer cue, e.g. "answer is", "答案", "选", before weaker ones such as "option A") or rewrites the
lines into the trained format (typed lists: type labels matched loosely, bracketed pairs, JSON), and only
then asks the codec. It reads a trained-format answer as the strict reading does; text naming no answer
still fails (scored wrong). Both readings are reported; the flexible one is the headline.

Flexible readers are registered per task with ``@flexible_reader(task)``; a task without one gets the cleaned
text through its codec (then the raw text).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from taiyi.instructions.tasks.base import ParseError
from taiyi.instructions.tasks.registry import get_task
from taiyi.text import nfkc

READINGS = ("flexible", "strict")
FlexibleReader = Callable[[str, dict, str], Any]  # (answer text, item meta, task name) -> parsed target
_READERS: dict[str, FlexibleReader] = {}


def flexible_reader(task: str) -> Callable[[FlexibleReader], FlexibleReader]:
    """Register the flexible reader of ``task`` (raises ParseError when no answer can be found)."""

    def deco(fn: FlexibleReader) -> FlexibleReader:
        _READERS[task] = fn
        return fn

    return deco


def read(text: str | None, task: str, meta: dict, reading: str = "flexible") -> Any:
    """The parsed answer of ``text`` under ``reading`` (``strict``: the codec on the raw text; ``flexible``: see
    the module docstring). Raises ParseError when the answer cannot be read."""
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    codec = get_task(task)
    if reading == "strict":
        return codec.parse(str(text), meta)
    if reading != "flexible":
        raise ValueError(f"unknown reading {reading!r}; known: {', '.join(READINGS)}")
    fn = _READERS.get(task)
    if fn is not None:
        return fn(str(text), meta, task)
    return _codec_first(str(text), meta, task)


# --- cleaning ----------------------------------------------------------------------------------------------

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"^.*</(?:think|thinking|reasoning)>", re.DOTALL | re.IGNORECASE)
_THINK_TAG = re.compile(r"</?(?:think|thinking|reasoning)>", re.IGNORECASE)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])|`([^`\n]+)`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)


def clean(text: str) -> str:
    """The answer without reasoning blocks (``<think>…</think>``; an unclosed one is all reasoning), code fences,
    headings and markdown emphasis (``**B**`` -> ``B``)."""
    t = _THINK.sub("", str(text))
    t = _THINK_CLOSE.sub("", t)  # the reasoning's opening tag was in the prompt (chat templates do this)
    t = _THINK_OPEN.sub("", t)
    t = _FENCE.sub("", t)
    t = _HEADING.sub("", t)
    t = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or m.group(4) or "", t)
    return t.strip()


def _codec_first(text: str, meta: dict, task: str, *candidates: str) -> Any:
    """The codec on each candidate text in turn (the cleaned text, then the raw text unless it holds reasoning
    tags: what is inside them is never the answer); the first reading wins."""
    codec = get_task(task)
    tried, last = set(), None
    raw = () if _THINK_TAG.search(text) else (text,)
    for cand in (*candidates, clean(text), *raw):
        if not cand.strip() or cand in tried:
            continue
        tried.add(cand)
        try:
            return codec.parse(cand, meta)
        except ParseError as exc:
            last = exc
    raise last or ParseError("empty answer")


# --- multiple choice ---------------------------------------------------------------------------------------

_LETTER = (r"(?:[(\[（【]\s*(?P<b>[A-Za-z])\s*[)\]）】]"  # (b) [B] （D）
           r"|(?P<u>[A-Z])(?![A-Za-z0-9])"  # B, B. B)
           r"|(?P<l>[a-z])(?=\s*(?:[.)。,，:;；!]|$)))")  # d, d. (not "a drug")
_ZH_LETTER = r"(?:[(\[（【]\s*(?P<b>[A-Za-z])\s*[)\]）】]|(?P<u>[A-Za-z])(?![A-Za-z]))"  # 答案：d, 选项（D）
_EN_STRONG = (r"(?i:(?:final|correct|right|best)\s+(?:answer|option|choice)|answer"
              r"|(?:I\s+(?:would\s+)?)?(?:choose|pick|select))")
_EN_WEAK = r"(?i:option|choice)"
_EN_LINK = r"(?i:\s*(?:is|would\s+be|should\s+be|will\s+be|must\s+be)?\s*[:：=]?\s*(?:option\s+|choice\s+)?)"
_ZH_STRONG = r"(?:最终答案|正确答案|参考答案|答案|正确选项|应选|故选|所以选|因此选|应该选|选择|选(?!项))"
_ZH_LINK = r"\s*[】\]]?\s*(?:应该是|应当是|应为|应是|是|为)?\s*[:：]?\s*(?:选项)?\s*"
_CUES = (  # (strength, pattern with a letter group): strong cues outrank weak ones; the last of a strength wins
    (2, re.compile(r"(?<![A-Za-z])" + _EN_STRONG + _EN_LINK + _LETTER)),
    (2, re.compile(_ZH_STRONG + _ZH_LINK + _ZH_LETTER)),
    (2, re.compile(r"(?:正确答案|答案)[^A-Za-z\n。；;]{1,8}?(?:是|为|选)\s*[:：]?\s*" + _ZH_LETTER)),  # 答案：我认为是B
    (1, re.compile(r"(?<![A-Za-z])" + _EN_WEAK + r"\s*" + _LETTER)),
    (1, re.compile(r"选项\s*" + _ZH_LETTER)),
    (1, re.compile(r"(?<![A-Za-z])(?P<u>[A-Za-z])\s*项")),
)
_TEXT_CUES = re.compile(
    r"(?i:(?:final|correct|best)\s+answer|answer)\s*(?i:is|would\s+be|should\s+be)?\s*[:：=]?\s*"
    r"|(?:最终答案|正确答案|答案)\s*[】\]]?\s*(?:是|为|应为)?\s*[:：]?\s*")
_LONE_LETTER = re.compile(r"^\W*([A-Za-z])\W*$")
_LEAD_LOWER = re.compile(r"^[(\[（]?([a-z])[.)）:：]\s")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def _norm(s: str) -> str:
    return " ".join(nfkc(s).casefold().split()).strip(" .。!！")


def _letter(m: re.Match) -> str:
    return next(g for g in m.groupdict().values() if g)


def _option_at(rest: str, choices: list[str]) -> str | None:
    """The option whose text ``rest`` starts with (longest first), as a whole word."""
    low = _norm(rest)
    for c in sorted(choices, key=lambda c: -len(_norm(c))):
        n = _norm(c)
        if n and low.startswith(n) and (len(low) == len(n) or not low[len(n)].isalnum()):
            return c
    return None


def _by_cue(text: str, choices: list[str]) -> str | None:
    """The option named by the last strongest answer cue ("the answer is (b)", "答案：d", "D项"), or None."""
    n = len(choices)
    best: tuple[int, int, str] | None = None
    for strength, rx in _CUES:
        for m in rx.finditer(text):
            k = ord(_letter(m).upper()) - ord("A")
            if 0 <= k < n and (best is None or (strength, m.start()) > best[:2]):
                best = (strength, m.start(), choices[k])
    for m in _TEXT_CUES.finditer(text):
        c = _option_at(text[m.end():], choices)
        if c is not None and (best is None or (2, m.start()) > best[:2]):
            best = (2, m.start(), c)
    return best[2] if best else None


def _named_once(sentence: str, choices: list[str]) -> str | None:
    """The one option whose text the sentence names as a whole word ("Based on the abstract, yes."), or None."""
    low = _norm(sentence)
    named = {c for c in choices if _norm(c) and re.search(r"(?<![\w])" + re.escape(_norm(c)) + r"(?![\w])", low)}
    return named.pop() if len(named) == 1 else None


@flexible_reader("mcqa")
def read_choice(text: str, meta: dict, task: str = "mcqa") -> str:
    """Multiple choice: an answer cue; else the codec; else a lone (lower-case) letter, a lower-case lead letter,
    or the one option named in the last sentence."""
    choices = list(meta["choices"])
    t = nfkc(clean(text))
    hit = _by_cue(t, choices)
    if hit is not None:
        return hit
    try:
        return _codec_first(text, meta, task)
    except ParseError as exc:
        err = exc
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    for ln in (lines[-1:] + lines[:1]) if lines else []:
        m = _LONE_LETTER.match(ln) or _LEAD_LOWER.match(ln)
        if m and 0 <= ord(m.group(1).upper()) - ord("A") < len(choices):
            return choices[ord(m.group(1).upper()) - ord("A")]
    sentences = [s for s in _SENTENCE_END.split(t) if s.strip()]
    for s in sentences[-1:] + sentences[:1]:
        hit = _named_once(s, choices)
        if hit is not None:
            return hit
    raise err


# --- typed lists (ner, re) ---------------------------------------------------------------------------------

_LABEL_LINE = re.compile(r"^\s*(?:[-*•·]\s*|\d{1,3}[.)、]\s*)?(?P<label>[^:：\n\[\]【】]{1,80}?)\s*[:：]\s*(?P<rest>.*)$")
_PAIR = re.compile(r"[\[(（【]\s*([^\[\]()（）【】,，;；]+?)\s*[,，;；]\s*([^\[\]()（）【】,，;；]+?)\s*[\])）】]")
_SUFFIX = re.compile(r"(?i)(?:\s*(?:entities|entity|mentions|mention|names|terms|list|实体|名称|列表))+$")


def _fold_label(s: str) -> str:
    s = nfkc(s).casefold().strip(" *_\"'`“”")
    return "".join(_SUFFIX.sub("", s).split())


def _type_of(label: str, types: list[list[str]]) -> list[str] | None:
    """The offered [raw, display] type a line label names: exactly, in another case or width, in the plural, or
    with "entities"/"实体" after it; None when it names none or several."""
    key = _fold_label(label)
    if not key:
        return None
    keys = {key, key[:-1] if key.endswith("s") else key, key[:-2] if key.endswith("es") else key}
    hits = [t for t in types if keys & {_fold_label(t[0]), _fold_label(t[1])}]
    return hits[0] if len(hits) == 1 else None


def _json_lines(text: str, types: list[list[str]], fields: int) -> str | None:
    """A JSON answer ({"type": [values]} or [{"type":…, "mention"/"head"/"tail":…}]) as "type: …" lines."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        obj = json.loads(text[start:])
    except ValueError:
        return None
    lines = []
    if isinstance(obj, dict):
        for k, vs in obj.items():
            for v in vs if isinstance(vs, list) else [vs]:
                if fields == 1 and isinstance(v, str):
                    lines.append(f"{k}: {v}")
                elif fields == 2 and isinstance(v, (list, tuple)) and len(v) == 2:
                    lines.append(f"{k}: [{v[0]}, {v[1]}]")
    elif isinstance(obj, list):
        for x in obj:
            if not isinstance(x, dict):
                continue
            t = x.get("type") or x.get("label") or x.get("relation") or (types[0][1] if len(types) == 1 else None)
            if fields == 1:
                v = x.get("mention") or x.get("text") or x.get("entity") or x.get("name")
                if t and isinstance(v, str):
                    lines.append(f"{t}: {v}")
            else:
                h, tl = x.get("head") or x.get("subject"), x.get("tail") or x.get("object")
                if t and isinstance(h, str) and isinstance(tl, str):
                    lines.append(f"{t}: [{h}, {tl}]")
    return "\n".join(lines) if lines else None


def _reads(line: str, meta: dict, task: str) -> bool:
    try:
        get_task(task).parse(line, meta)
        return True
    except ParseError:
        return False


def _rewrite_typed(text: str, meta: dict, task: str, fields: int) -> str:
    """Lines in the trained format where a line the codec cannot read names an offered type loosely
    ("**Chemicals**: a, b", "chemical entities: …") or lists bracketed pairs (Taiyi's "relation: [a, b]; [c, d]");
    lines the codec reads are kept as they are."""
    types = [list(t) for t in meta.get("types") or []]
    t = clean(text)
    t = _json_lines(t, types, fields) or t
    out = []
    for line in t.splitlines():
        if not line.strip() or _reads(line, meta, task):
            out.append(line)
            continue
        m = _LABEL_LINE.match(line)
        typ = _type_of(m.group("label"), types) if m else None
        pairs = _PAIR.findall(m.group("rest") if m else line) if fields == 2 else []
        if typ is None and fields == 2 and pairs and len(types) == 1:
            typ = types[0]  # one relation type asked: a pair list under any label (or none) is of that type
        if typ is None:
            out.append(line)
        elif fields == 2 and pairs:
            out.extend(f"{typ[1]}: {h.strip()} -> {tl.strip()}" for h, tl in pairs)
        else:
            out.append(f"{typ[1]}: {m.group('rest').strip()}")
    return "\n".join(out)


def _read_typed(text: str, meta: dict, task: str, fields: int) -> list:
    return _codec_first(text, meta, task, _rewrite_typed(text, meta, task, fields))


@flexible_reader("ner")
def read_entities(text: str, meta: dict, task: str = "ner") -> list:
    """Entity lists: loose type labels, JSON; then the codec."""
    return _read_typed(text, meta, task, 1)


@flexible_reader("re")
def read_relations(text: str, meta: dict, task: str = "re") -> list:
    """Relation lists: loose type labels, bracketed pairs (Taiyi's format), JSON; then the codec."""
    return _read_typed(text, meta, task, 2)


__all__ = ["READINGS", "clean", "flexible_reader", "read", "read_choice", "read_entities", "read_relations"]
