"""Clinical finding event extraction codec (CHIP-CDEE): kb events -> "list the findings and their attributes" and back.

Why: CHIP-CDEE events are not spans of one type but findings with four free-text attributes (the core finding,
its anatomical sites, descriptors and a status: negated / uncertain / affirmed), so neither the ner nor the re
answer shape fits. The reader (``cblue_ee``) stores every attribute as a text argument ``{role, text}`` with roles
``core_name``, ``tendency``, ``character``, ``anatomy``; this codec asks for all events of a record at once.

Target: ``[[core_name, tendency, [characters], [anatomies]], ...]`` sorted unique; every value has whitespace runs
collapsed to one space (the reader keeps the raw strings, which carry stray spaces), the two lists are sorted
unique, ``tendency`` is the raw status ("" affirmed, "否定", "不确定"). ``meta``: ``lang``, ``phrasing``.

Answer phrasings (``answers:`` in ``templates/ee.<lang>.yaml``, field names and status names are data there too):
  fields:  one line per event, ``name：value`` pairs joined by ``sep``
  block:   a header line per event (``事件{n}：``) followed by one ``- name：value`` line per attribute
  compact: ``- core（name：value；...）`` with the non-empty attributes only (``bare`` when there are none)
  json:    a JSON list of objects keyed by the field names
Reading accepts any of them in either language (and a Markdown table whose header names the fields), full/half-width
punctuation, bullets, an ``答案：`` prefix and prose around the answer. A value is quoted only when the plain answer would not read back exactly (a quoted value
is taken literally), so ``parse(render(t)) == t`` holds by construction and is checked on every render.
"""

from __future__ import annotations

import json
import re
import unicodedata

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.typed_answers import (
    is_empty_answer,
    quote,
    split_list,
    strip_bullet,
    strip_prefix,
    unquote,
)
from taiyi.instructions.tasks.ee_names import LIST_ROLES, ROLES, Names, field_key, is_none_cached, names, norm
from taiyi.instructions.tasks.labels import fill
from taiyi.text import record_lang

TASK = "ee"
_QUOTE_OPEN = {'"': '"', "“": "”", "「": "」", "『": "』", "《": "》"}
_HEADER = re.compile(r"^(?:事件|event|第)\s*\d{1,3}\s*(?:个事件|个)?\s*[:：∶.、]?\s*", re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_TRAIL = " \t;；,，、。.|｜"


# ------------------------------------------------------------------------------------------- gold targets


def event_target(event: dict) -> list | None:
    """``[core, tendency, chars, anatomies]`` of one kb event, or None when it has no core finding."""
    vals: dict[str, list[str]] = {r: [] for r in ROLES}
    for arg in event.get("arguments", []):
        role = arg.get("role")
        if role in vals and norm(arg.get("text", "")):
            vals[role].append(norm(arg["text"]))
    core = vals["core_name"][0] if vals["core_name"] else norm(" ".join(event.get("trigger", {}).get("text") or []))
    if not core:
        return None
    tendency = vals["tendency"][0] if vals["tendency"] else ""
    return [core, tendency, sorted(set(vals["character"])), sorted(set(vals["anatomy"]))]


def canonical(events) -> list:
    """Sorted unique events with sorted unique attribute lists (how gold and predictions are compared)."""
    seen = {(norm(c), norm(t), tuple(sorted({norm(x) for x in ch})), tuple(sorted({norm(x) for x in an})))
            for c, t, ch, an in events}
    return [[c, t, list(ch), list(an)] for c, t, ch, an in sorted(seen)]


def is_finding_record(record: dict) -> bool:
    """True when every event argument is one of the clinical-finding attributes (BioNLP-style events are not)."""
    return all(arg.get("role") in ROLES and "text" in arg for ev in record.get("events", []) for arg in ev.get("arguments", []))


def gold_target(record: dict) -> list:
    return canonical(t for t in map(event_target, record.get("events", [])) if t is not None)


# ------------------------------------------------------------------------------------------- names


# ------------------------------------------------------------------------------------------- writing


def _value(v: str, quote_all: bool, lang: str) -> str:
    return quote(v, lang) if quote_all else v


def _attrs(ev, nm: Names, quote_all: bool, spec: dict, skip_empty: bool) -> list[str]:
    core, tendency, chars, anats = ev
    out = []
    for role in ROLES:
        if role == "core_name":
            if skip_empty:
                continue
            value = _value(core, quote_all, nm.lang)
        elif role == "tendency":
            if skip_empty and not tendency:
                continue
            value = nm.status_name.get(tendency) or _value(tendency, quote_all or field_key(tendency) in nm.status_of, nm.lang)
        else:
            vals = chars if role == "character" else anats
            if skip_empty and not vals:
                continue
            value = spec["list_sep"].join(_value(v, quote_all, nm.lang) for v in vals) if vals else nm.none_value
        out.append(fill(spec["field"], name=nm.field_name[role], value=value))
    return out


def _render(target: list, lang: str, k: int, quote_all: bool) -> str:
    nm = names(lang)
    spec = nm.raw["answers"][k]
    kind = spec["kind"]
    if kind == "json":
        objs = []
        for core, tendency, chars, anats in target:
            objs.append({nm.field_name["core_name"]: core, nm.field_name["anatomy"]: list(anats),
                         nm.field_name["character"]: list(chars),
                         nm.field_name["tendency"]: nm.status_name.get(tendency) or _value(tendency, quote_all, lang)})
        return "[\n" + ",\n".join("  " + json.dumps(o, ensure_ascii=False) for o in objs) + "\n]"
    lines = []
    for n, ev in enumerate(target, 1):
        if kind == "fields":
            lines.append(spec["sep"].join(_attrs(ev, nm, quote_all, spec, skip_empty=False)))
        elif kind == "block":
            lines.append(fill(spec["header"], n=str(n)))
            lines += _attrs(ev, nm, quote_all, spec, skip_empty=False)
        elif kind == "compact":
            core = _value(ev[0], quote_all, lang)
            attrs = _attrs(ev, nm, quote_all, spec, skip_empty=True)
            lines.append(fill(spec["line"], core=core, attrs=spec["sep"].join(attrs)) if attrs else fill(spec["bare"], core=core))
        else:
            raise ValueError(f"ee.{lang}.yaml answers[{k}]: unknown kind {kind!r} (fields, block, compact, json)")
    return "\n".join(lines)


def render(target: list, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = (meta["phrasing"] if phrasing is None else phrasing) % len(tpl.answers)
    target = canonical(target)
    if not target:
        return tpl.empty[k % len(tpl.empty)]
    for quote_all in (False, True):
        text = _render(target, meta["lang"], k, quote_all)
        try:
            if parse(text, meta) == target:
                return text
        except ParseError:
            pass
    raise ValueError(f"answer phrasing {k} cannot represent {target!r} exactly: {text!r}")


# ------------------------------------------------------------------------------------------- reading


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quoted region (an opening quote up to its closing quote)."""
    if not any(q in text for q in _QUOTE_OPEN):
        return []
    spans, i = [], 0
    while i < len(text):
        close = _QUOTE_OPEN.get(text[i])
        if close is not None:
            end = text.find(close, i + 1)
            if end != -1:
                spans.append((i, end + 1))
                i = end + 1
                continue
        i += 1
    return spans


def _in(spans: list[tuple[int, int]], pos: int) -> bool:
    return any(s <= pos < e for s, e in spans)


def _fields(line: str, nm: Names) -> dict[str, tuple[str, bool]] | None:
    """``{role: (raw value, quoted)}`` of a ``name：value；name：value`` line, or None when it names no field.

    A field name counts at the line start or after a separator, outside quotes."""
    spans = _quoted_spans(line)
    keys = []
    for m in nm.key_rx.finditer(line):
        s = m.start()
        if spans and _in(spans, s):
            continue
        before = line[:s].rstrip()
        if before and before[-1] not in ";；,，、|｜(（{[【":
            continue
        keys.append(m)
    if not keys:
        return None
    if line[: keys[0].start()].strip(" \t{[【(（"):
        return None  # text before the first field: prose, or a compact line
    out: dict[str, tuple[str, bool]] = {}
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(line)
        raw = line[m.end() : end].strip().rstrip(_TRAIL).strip()
        if i + 1 == len(keys):
            raw = raw.rstrip(")）}]】").strip() if line.lstrip()[:1] in "(（{[【" else raw
        role = nm.field_of[field_key(m.group("name"))]
        out[role] = (raw, raw[:1] in _QUOTE_OPEN and len(raw) >= 2 and _QUOTE_OPEN[raw[0]] == raw[-1])
    return out


def _compact(line: str, nm: Names) -> tuple[str, dict] | None:
    """``core（name：value；...）`` -> (core raw value, fields), or None."""
    stripped = line.rstrip().rstrip("。.")
    if not stripped.endswith((")", "）")):
        return None
    spans = _quoted_spans(stripped)
    for i, ch in enumerate(stripped):
        if ch in "(（" and i > 0 and not _in(spans, i):
            core = stripped[:i].strip()
            got = _fields(stripped[i + 1 : -1], nm)
            if core and got and _fields(core, nm) is None:
                return core, got
    return None


def _event(fields: dict[str, tuple[str, bool]], nm: Names) -> list | None:
    core_raw, core_q = fields.get("core_name", ("", False))
    core = norm(unquote(core_raw))
    if not core or (not core_q and is_none_cached(core_raw)):
        return None
    tend_raw, tend_q = fields.get("tendency", ("", False))
    tendency = "" if not tend_q and is_none_cached(tend_raw) else nm.status(unquote(tend_raw), tend_q)
    lists = {}
    for role in LIST_ROLES:
        raw, _ = fields.get(role, ("", False))
        items = [] if is_none_cached(raw) else split_list(raw)
        lists[role] = [norm(unquote(x)) for x in items if not is_none_cached(x) and norm(unquote(x))]
    return [core, tendency, lists["character"], lists["anatomy"]]


def _json_events(obj, nm: Names) -> list | None:
    """Events from a parsed JSON answer (an object or a list of objects keyed by field names); values are literal
    except the status, which is read by name unless quoted inside the JSON string."""
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list) or not all(isinstance(o, dict) for o in obj):
        return None
    out = []
    for o in obj:
        vals = {nm.field_of.get(field_key(str(k))): v for k, v in o.items()}
        core = norm(vals.get("core_name") or "")
        if not core:
            continue
        lists = {}
        for role in LIST_ROLES:
            v = vals.get(role)
            v = v if isinstance(v, list) else ([] if v in (None, "") else [v])
            lists[role] = [norm(x) for x in v if norm(x)]
        tendency = norm(vals.get("tendency") or "")
        quoted = len(tendency) >= 2 and _QUOTE_OPEN.get(tendency[0]) == tendency[-1]
        out.append([core, nm.status(unquote(tendency), quoted), lists["character"], lists["anatomy"]])
    return out


def _read(text: str, nm: Names) -> list | None:
    body = _FENCE.sub("", strip_prefix(text).strip()).strip()
    if body[:1] in "[{":
        try:
            got = _json_events(json.loads(body), nm)
        except ValueError:
            got = None
        if got:
            return got
    events: list = []
    current: dict | None = None
    table: list | None = None  # the roles of the columns of a Markdown table being read
    matched = False

    def close():
        nonlocal current, matched
        if current and "core_name" in current:  # attributes without a core finding read as nothing
            matched = True
            ev = _event(current, nm)
            if ev is not None:
                events.append(ev)
        current = None

    for raw_line in body.splitlines():
        line = unicodedata.normalize("NFC", raw_line).strip()
        if not line:
            continue
        if line.startswith(("|", "｜")) and line.count(line[0]) >= 3:  # a Markdown table row
            cells = [c.strip() for c in re.split(r"[|｜]", line.strip("|｜ "))]
            roles = [nm.field_of.get(field_key(c)) for c in cells]
            if all(roles) and "core_name" in roles:
                close()
                table = roles
            elif table and len(cells) == len(table) and not all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                close()
                current = {r: (c, c[:1] in _QUOTE_OPEN) for r, c in zip(table, cells)}
                close()
            continue
        table = None
        bulleted = strip_bullet(line) != line
        line = strip_bullet(line)
        head = _HEADER.match(line)
        rest = line[head.end() :].strip() if head else ""
        if head and (not rest or _compact(rest, nm) is not None or _fields(rest, nm) is not None):
            close()
            current = {}
            line = line[head.end() :].strip()
            if not line:
                continue
        if line[:1] == "{":
            try:
                got = _json_events(json.loads(line.rstrip(",，")), nm)
            except ValueError:
                got = None
            if got:
                close()
                events += got
                matched = True
                continue
        comp = _compact(line, nm)
        if comp is not None:
            close()
            current = {"core_name": (comp[0], comp[0][:1] in _QUOTE_OPEN), **comp[1]}
            matched = True
            close()
            continue
        fields = _fields(line, nm)
        if fields is not None:
            if current is None or ("core_name" in fields and "core_name" in current):
                close()
                current = {}
            current.update(fields)
            continue
        if bulleted and not re.search(r"[:：∶]", line) and not current:
            close()
            current = {"core_name": (line.rstrip(_TRAIL) if line[:1] not in _QUOTE_OPEN else line, line[:1] in _QUOTE_OPEN)}
            matched = True
            close()
            continue
    close()
    return events if matched else None


def parse(text: str | None, meta: dict) -> list:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    nm = names(meta["lang"])
    got = _read(str(text), nm)
    if got:
        return canonical(got)
    if is_empty_answer(str(text), load_templates(TASK, meta["lang"]).empty):
        return []
    if got is not None:
        return []  # event lines whose every value is "none"
    raise ParseError(f"no clinical finding event in answer: {str(text)[:80]!r}")


# ------------------------------------------------------------------------------------------- prompts and scoring


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "kb" or not is_finding_record(record):
        return []
    if not record.get("events") and TASK not in info.get("tasks", []):
        return []
    text = document_text(record).strip()
    if not text:
        return []
    lang = record_lang(record, info)
    tpl = load_templates(TASK, lang)
    target = gold_target(record)
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers))}
    return [
        Instruction.for_record(
            record, TASK, prompt, lang=lang,
            user=fill(prompt["text"], text=text),
            answer=render(target, meta),
            target=target,
            meta=meta,
            variant=0,
        )
    ]



@register_task(TASK)
class EeTask(Task):
    """Clinical findings (core, status, descriptors, sites) scored per document as whole-event sets."""

    unit = "document"
    window_long_documents = True
    stage = 1
    max_new_tokens = 512
    metrics = ("micro_f1",)
