"""Lenient reading (and exact writing) of line-structured answers for the extraction-style codecs.

Why: PromptCBLUE-style parsers key on exact punctuation and silently drop lines a model wrote with a
full-width colon or a bullet. Here an answer phrasing is a line template from the templates YAML
(e.g. ``"{type}: {items}"``); it is compiled into a regex whose literal parts accept full/half-width
punctuation and extra spaces, whose ``{type}`` slot accepts only the names the prompt offered (any case),
and whose value slots accept a quoted value. Rendering quotes a value only when the unquoted answer would
not read back exactly, so ``parse(render(t)) == t`` holds by construction and is verified on every render.

Phrasing kinds (``answers:`` entries in ``templates/<task>.<lang>.yaml``):
  item:   one line per record, e.g. ``"- {mention} ({type})"``
  group:  one line per type, ``line`` with ``{type}`` and ``{items}``; ``item`` formats each element; ``sep`` joins
  header: a ``header`` line with ``{type}`` followed by ``item`` lines, e.g. ``"{type}:"`` + ``"- {mention}"``
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

# literal punctuation -> the characters a model may write instead
_PUNCT = {
    ":": ":：∶", "：": ":：∶", ";": ";；", "；": ";；", ",": ",，", "，": ",，", "、": "、,，",
    "(": "(（", "（": "(（", ")": ")）", "）": ")）", ".": ".。．", "。": ".。．", "?": "?？", "？": "?？",
    "!": "!！", "！": "!！", "|": "|｜", "｜": "|｜", "[": "[【", "【": "[【", "]": "]】", "】": "]】",
    '"': '"“”', "“": '"“”「', "”": '"“”」', "=": "=＝", "/": "/／",
}
_ARROW = r"(?:->|→|=>|⟶|—>)"
QUOTES = (('"', '"'), ("“", "”"), ("「", "」"), ("『", "』"), ("《", "》"))
_OPEN = {o: c for o, c in QUOTES}
_VALUE = r'(?:"[^"\n]*"|“[^”\n]*”|「[^」\n]*」|『[^』\n]*』|.+?)'
_TERMINAL = ".。"
_BULLET = re.compile(r"^\s*(?:[-*•·●▪+]|\d{1,3}[.)、．](?!\d)|[(（]\d{1,3}[)）])\s*")
_PREFIX = re.compile(
    r"^\s*(?:the\s+)?(?:final\s+)?(?:answer|output|result|response|答案|回答|输出|结果|抽取结果|结论)\s*(?:is|是|为)?\s*[:：]\s*",
    re.IGNORECASE,
)
# item values that mean "nothing" when a model writes them unquoted
NONE_WORDS = frozenset({"", "无", "没有", "暂无", "none", "nil", "null", "n/a", "nothing", "不存在", "未提及"})
PRIMARY_SEPS = ";；"


@functools.lru_cache(maxsize=1 << 16)  # pure; answers repeat the same short values (profiled: half of a parse)
def fold(text: str) -> str:
    """Comparison key for names: NFKC, lower case, no whitespace, no punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S")))


@functools.lru_cache(maxsize=1 << 16)
def fold_name(text: str) -> str:
    """Comparison key for type/label names: NFKC, lower case, whitespace removed (punctuation kept)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def strip_prefix(text: str) -> str:
    """Drop a leading ``Answer:`` / ``答案：`` and surrounding whitespace."""
    return _PREFIX.sub("", text.strip(), count=1).strip()


def strip_bullet(line: str) -> str:
    return _BULLET.sub("", line, count=1).strip()


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and _OPEN.get(value[0]) == value[-1]:
        return value[1:-1]
    return value


def quote(value: str, lang: str) -> str:
    order = QUOTES if lang == "en" else QUOTES[1:] + QUOTES[:1]
    for o, c in order:
        if o not in value and c not in value:
            return f"{o}{value}{c}"
    raise ValueError(f"cannot quote {value!r}: it contains every quote character")


def is_none(raw_value: str) -> bool:
    """An unquoted item such as ``无`` / ``none`` / ``-`` that stands for no value."""
    v = raw_value.strip()
    return not (v[:1] in _OPEN and len(v) >= 2) and fold(v) in NONE_WORDS


def split_list(text: str, seps: str | None = None) -> list[str]:
    """Split a list value on ``;``/``；`` (or, when there is none, on ``，``/``、``/``, ``), keeping quoted items whole.

    Returns raw items (still quoted, stripped)."""
    text = text.strip()
    if not text:
        return []
    if seps is not None:
        return _split(text, lambda s, i: s[i] in seps, seps)
    primary = _split(text, lambda s, i: s[i] in PRIMARY_SEPS, PRIMARY_SEPS)
    if len(primary) > 1:
        return primary

    def secondary(s: str, i: int) -> bool:
        ch = s[i]
        if ch in "，、":
            return True
        if ch == ",":
            prev, nxt = s[i - 1 : i], s[i + 1 : i + 2]
            return not (prev.isdigit() and nxt.isdigit())
        return False

    return _split(text, secondary, "，、,")


@functools.lru_cache(maxsize=64)
def _char_class(chars: str) -> re.Pattern:
    return re.compile("[" + re.escape(chars) + "]")


def _split(text: str, is_sep, candidates: str) -> list[str]:
    """Split on separators outside quoted regions (an opening quote up to its closing quote).

    ``candidates``: every character ``is_sep`` can accept; without quotes only their positions are tested (fast path)."""
    if not any(q in text for q in _OPEN):
        items, start = [], 0
        for m in _char_class(candidates).finditer(text):
            i = m.start()
            if is_sep(text, i):
                items.append(text[start:i].strip())
                start = i + 1
        items.append(text[start:].strip())
        return [it for it in items if it != ""]
    items, i, n, start = [], 0, len(text), 0
    while i < n:
        ch = text[i]
        if ch in _OPEN:
            close = text.find(_OPEN[ch], i + 1)
            if close != -1:
                i = close + 1
                continue
        if is_sep(text, i):
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    items.append(text[start:].strip())
    return [it for it in items if it != ""]


def literal_regex(literal: str) -> str:
    """A literal template part as a regex tolerant of punctuation width, arrows and spacing."""
    out, i = [], 0
    while i < len(literal):
        ch = literal[i]
        if literal.startswith("->", i):
            out.append(r"\s*" + _ARROW + r"\s*")
            i += 2
            continue
        if ch == "→":
            out.append(r"\s*" + _ARROW + r"\s*")
        elif ch.isspace():
            if not out or out[-1] != r"\s*":
                out.append(r"\s*")
        elif ch in _PUNCT:
            out.append(r"\s*[" + re.escape(_PUNCT[ch]) + r"]\s*")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def names_regex(names: Iterable[str]) -> str:
    alts = sorted({n for n in names if n}, key=len, reverse=True)
    return "(?:" + "|".join(r"\s*".join(re.escape(part) for part in a.split()) for a in alts) + ")"


def compile_template(template: str, name_fields: dict[str, str]) -> re.Pattern:
    """Compile one line template; fields in ``name_fields`` match only those regexes, others any (quotable) value."""
    template = strip_bullet(template)
    body = template.rstrip()
    terminal = body[-1:] in _TERMINAL
    if terminal:
        body = body[:-1]
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(body):
        if literal:
            parts.append(literal_regex(literal))
        if field is not None:
            rx = name_fields.get(field, _VALUE if field != "items" else ".+?")
            parts.append(f"(?P<{field}>{rx})")
    return re.compile(r"^\s*" + "".join(parts) + r"\s*[.。．;；]?\s*$", re.IGNORECASE)


_TEMPLATE_PUNCT = ":：()（）,，;；"


@dataclass(frozen=True)
class Phrasing:
    """One answer phrasing of a typed-record task (ner/re): a compiled template set."""

    kind: str  # item | group | header
    line: str | None
    item: str | None
    header: str | None
    sep: str
    joiner: str

    @classmethod
    def from_yaml(cls, spec: dict, where: str) -> "Phrasing":
        kind = spec.get("kind")
        need = {"item": ("line",), "group": ("line", "item"), "header": ("header", "item")}
        if kind not in need:
            raise ValueError(f"{where}: answer phrasing kind {kind!r} must be item, group or header")
        for key in need[kind]:
            if not spec.get(key):
                raise ValueError(f"{where}: {kind} phrasing needs {key!r}")
        return cls(kind, spec.get("line"), spec.get("item"), spec.get("header"), spec.get("sep", "; "), spec.get("joiner", "\n"))


def phrasings(templates, where: str) -> tuple[Phrasing, ...]:
    return tuple(Phrasing.from_yaml(s, f"{where} answers[{i}]") for i, s in enumerate(templates.answers))


class TypedRecords:
    """Render/read answers made of records ``(type, field1, ...)`` whose type is one of the offered names.

    ``fields`` are the value slots besides ``type`` (ner: mention; re: head, tail)."""

    def __init__(self, phrasing_list: Sequence[Phrasing], fields: tuple[str, ...], type_names: Sequence[tuple[str, str]], lang: str):
        self.phrasings = phrasing_list
        self.fields = fields
        self.lang = lang
        self.display = {raw: disp for raw, disp in type_names}
        self.lookup: dict[str, str] = {}
        for raw, disp in type_names:
            for n in {fold_name(disp), fold_name(raw)}:
                if self.lookup.setdefault(n, raw) != raw:
                    raise ValueError(f"type name {n!r} names both {self.lookup[n]!r} and {raw!r}; offer distinct names")
        names = set()
        for raw, disp in type_names:
            names |= {raw, disp, unicodedata.normalize("NFKC", disp)}
        self.type_rx = names_regex(names)
        tf = {"type": self.type_rx}
        self.compiled = []
        for p in phrasing_list:
            self.compiled.append(
                (
                    compile_template(p.line, tf) if p.line else None,
                    compile_template(p.item, tf) if p.item else None,
                    compile_template(p.header, tf) if p.header else None,
                )
            )
        self.head_break = re.compile(r"(?<=[;；。.])\s*(?=" + self.type_rx + r"\s*[:：])", re.IGNORECASE)

    # ---- writing
    def render(self, records: Sequence[Sequence[str]], k: int) -> str:
        text = self._render(records, k, quote_risky=False)
        if self._reads_back(text, records, k):
            return text
        text = self._render(records, k, quote_risky=True)
        if self._reads_back(text, records, k):
            return text
        raise ValueError(f"answer phrasing {k} cannot represent {list(map(list, records))!r} exactly: {text!r}")

    def _reads_back(self, text: str, records, k: int) -> bool:
        """Whether ``text`` reads back as ``records``: under phrasing k, and, when a value holds punctuation that
        templates use (a colon, brackets, a comma), whichever phrasing a reader tries first ("tRNA:m5C (tRNA)" is
        also "tRNA: m5C (tRNA)" to a type-colon phrasing)."""
        want = sorted({tuple(r) for r in records})
        risky = any(ch in v for r in records for v in r[1:] for ch in _TEMPLATE_PUNCT)
        try:
            return all(self.read(text, prefer=j) == want
                       for j in ([k] + [i for i in range(len(self.phrasings)) if i != k] if risky else [k]))
        except ValueError:
            return False

    def _value(self, v: str, quote_risky: bool) -> str:
        if quote_risky:  # fallback when the plain answer does not read back: quote every value
            return quote(v, self.lang)
        return v

    def _render(self, records, k: int, quote_risky: bool) -> str:
        p = self.phrasings[k]
        order = list(self.display)
        recs = sorted({tuple(r) for r in records}, key=lambda r: (order.index(r[0]) if r[0] in order else len(order), r))

        def fmt(template: str, rec) -> str:
            vals = {f: self._value(v, quote_risky) for f, v in zip(self.fields, rec[1:])}
            return template.format(type=self.display.get(rec[0], rec[0]), **vals)

        if p.kind == "item":
            return p.joiner.join(fmt(p.line, r) for r in recs)
        groups: dict[str, list] = {}
        for r in recs:
            groups.setdefault(r[0], []).append(r)
        out = []
        for t, rs in groups.items():
            disp = self.display.get(t, t)
            if p.kind == "group":
                out.append(p.line.format(type=disp, items=p.sep.join(fmt(p.item, r) for r in rs)))
            else:
                out.append(p.header.format(type=disp) + "\n" + "\n".join(fmt(p.item, r) for r in rs))
        return p.joiner.join(out)

    # ---- reading
    def read(self, text: str, prefer: int | None = None) -> list[tuple[str, ...]]:
        """Records found in ``text`` (sorted unique). Raises ValueError if no line reads as a record line."""
        text = self.head_break.sub("\n", strip_prefix(text))
        order = list(range(len(self.phrasings)))
        if prefer is not None and 0 <= prefer < len(order):
            order.remove(prefer)
            order.insert(0, prefer)
        found: set[tuple[str, ...]] = set()
        matched_any = False
        header_type: str | None = None
        for raw_line in text.splitlines():
            line = strip_bullet(raw_line)
            if not line:
                continue
            got = self._read_line(line, order)
            if got is not None:
                kind, t, recs = got
                matched_any = True
                header_type = t if kind == "header" else None
                found.update(recs)
                continue
            if header_type is not None:
                recs = self._read_items(line, header_type, order, header_only=True)
                if recs is not None:
                    matched_any = True
                    found.update(recs)
                    continue
            header_type = None
        if not matched_any:
            raise ValueError("no answer line found")
        return sorted(found)

    def _type(self, name: str) -> str | None:
        return self.lookup.get(fold_name(unquote(name)))

    def _read_line(self, line: str, order):
        for k in order:
            line_rx, _item_rx, header_rx = self.compiled[k]
            p = self.phrasings[k]
            if p.kind == "header":
                m = header_rx.match(line)
                if m and self._type(m.group("type")):
                    return "header", self._type(m.group("type")), []
                continue
            m = line_rx.match(line)
            if not m or not self._type(m.group("type")):
                continue
            t = self._type(m.group("type"))
            if p.kind == "item":
                vals = [m.group(f) for f in self.fields]
                if any(is_none(v) for v in vals):
                    return "item", t, []
                return "item", t, [(t, *map(unquote, vals))]
            recs = self._read_items(m.group("items"), t, [k], header_only=False)
            if recs is not None:
                return "group", t, recs
        return None

    def _read_items(self, text: str, t: str, order, header_only: bool):
        """Elements of a group line (split on separators) or one header item line."""
        pieces = [text] if header_only else split_list(text)
        if not header_only and len(pieces) == 1 and is_none(pieces[0]):
            return []
        for k in order:
            item_rx = self.compiled[k][1]
            if item_rx is None:
                continue
            recs, ok = [], True
            for piece in pieces:
                if is_none(piece):
                    continue
                m = item_rx.match(piece)
                if not m:
                    ok = False
                    break
                recs.append((t, *(unquote(m.group(f)) for f in self.fields)))
            if ok:
                return recs
        if header_only:
            return None
        return None


_RISKY = set(";；,，、:：()（）.。．\"“”「」『』|｜→>=/[]【】")


def _risky(v: str) -> bool:
    return any(ch in _RISKY for ch in v) or is_none(v) or v[:1] in _OPEN or bool(_BULLET.match(v))


def is_empty_answer(text: str, empties: Iterable[str]) -> bool:
    """True when the answer is one of the template file's empty answers (any punctuation/case), maybe followed by more."""
    t = fold(strip_prefix(text))
    if t in NONE_WORDS:
        return True
    return any(t == fold(e) or (fold(e) and t.startswith(fold(e))) for e in empties)

