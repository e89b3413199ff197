"""BioNLP-style event extraction codec (GENIA 2009/2011/2013, EPI, ID, CG, PC, GRO): text -> typed events with
triggers and role-labelled arguments, nested events included.

Why: a BioNLP event ("TRAF2 phosphorylation is induced by CD40") is a typed trigger whose arguments are entities
or other events (Positive_regulation[induced] Theme: Phosphorylation[phosphorylation] Theme: TRAF2, Cause: CD40);
the clinical-finding ``ee`` codec (CHIP-CDEE) has fixed text attributes and cannot say this. Arguments here are
``ref_id``s in the kb schema; the codec turns them into surface texts (an entity) or nested events.

Target: every event of the document (nested ones too, each is a BioNLP event of its own), sorted unique, as
``[type, trigger, [[role, arg], ...]]`` with arguments sorted and ``arg`` an entity text or a nested event of the
same shape. Texts have whitespace collapsed (discontinuous parts joined by a space). ``meta``: ``lang``, ``phrasing``.

Answer (one line per event, numbered; nesting by reference to another line's number)::

    E1: Phosphorylation | trigger: phosphorylation | Theme: TRAF2
    E2: Positive_regulation | trigger: induced | Cause: CD40 | Theme: E1

A value is written as a JSON string when it could be misread (it looks like an ``E<n>`` reference, holds ``|``,
starts with a quote, or has outer spaces), so ``parse(render(t)) == t`` holds for every target.

Scoring (``micro_f1``): strict micro-F1 per document over whole events (type, trigger text, all role:argument pairs,
nested arguments compared recursively). BioNLP's official evaluation (approximate span matching by offsets,
"approximate recursive" matching, Theme-only partial credit, modifiers) is not replicated: there are no offsets in
a generated answer, and M lines (Negation/Speculation) and Equiv sets are not part of the target.
"""

from __future__ import annotations

import json
import re

import orjson

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.labels import fill
from taiyi.instructions.tasks.ner import mention_text
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.typed_answers import is_empty_answer, strip_bullet
from taiyi.text import record_lang

TASK = "bionlp_ee"
TRIGGER_LABELS = ("trigger", "触发词", "trigger word")
_LINE = re.compile(r"^\s*E\s*(\d{1,4})\s*[:：.]\s*(.*)$")
_REF = re.compile(r"E\d+")
_BARS = "|｜"


def _key(x) -> bytes:
    return orjson.dumps(x)


def canonical(events: list) -> list:
    """Events (and every event nested in them) with sorted arguments, sorted unique by their JSON form."""
    out: dict[bytes, list] = {}

    def visit(ev) -> list:
        etype, trig, args = ev
        canon_args = [[str(r), visit(a) if isinstance(a, (list, tuple)) else str(a)] for r, a in args]
        canon = [str(etype), str(trig), sorted(canon_args, key=_key)]
        out.setdefault(_key(canon), canon)
        return canon

    for ev in events:
        visit(ev)
    return [out[k] for k in sorted(out)]


def gold_target(record: dict) -> list:
    """The record's events as nested targets; an argument naming an unknown id, or a reference cycle, is dropped."""
    ents = {e["id"]: mention_text(e) for e in record.get("entities", [])}
    evs = {ev["id"]: ev for ev in record.get("events", [])}
    memo: dict[str, list] = {}

    def build(eid: str, path: frozenset) -> list:
        if eid not in memo:
            ev = evs[eid]
            args = []
            for a in ev.get("arguments", []):
                ref = a.get("ref_id")
                if ref in evs and ref not in path:
                    args.append([a["role"], build(ref, path | {ref})])
                elif ref in ents and ents[ref]:
                    args.append([a["role"], ents[ref]])
            trig = " ".join(" ".join((ev.get("trigger") or {}).get("text") or []).split())
            memo[eid] = [str(ev["type"]), trig, args]
        return memo[eid]

    return canonical([build(eid, frozenset({eid})) for eid in evs])


def is_bionlp_record(record: dict) -> bool:
    """A kb record whose events point at entities/events by ``ref_id`` (CHIP-CDEE's carry text attributes)."""
    return record.get("schema") == "kb" and all("ref_id" in a for ev in record.get("events", []) for a in ev.get("arguments", []))


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if not is_bionlp_record(record) or not (record.get("events") or TASK in info.get("tasks", [])):
        return []
    text = document_text(record).strip()
    if not text:
        return []
    lang = record_lang(record, info)
    tpl = load_templates(TASK, lang)
    target = gold_target(record)
    facts = (info.get("facts") or {}).get(TASK) or {}
    types = facts.get("types") or sorted({str(ev["type"]) for ev in record.get("events", [])})
    if not types:
        return []
    prompt = tpl.prompt(rng)
    meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers))}
    user = fill(prompt["text"], text=text, types=", ".join(types))
    return [Instruction.for_record(record, TASK, prompt, lang=lang, user=user, answer=render(target, meta),
                                   target=target, meta=meta, variant=0)]


def _value(v: str, *, arg: bool) -> str:
    risky = not v or v != v.strip() or any(b in v for b in _BARS) or v.startswith('"') or "\n" in v \
        or (arg and _REF.fullmatch(v) is not None)
    return json.dumps(v, ensure_ascii=False) if risky else v


def render(target: list, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    if not target:
        return tpl.empty[k % len(tpl.empty)]
    events = canonical(target)
    num = {_key(ev): i + 1 for i, ev in enumerate(events)}
    label = tpl.raw.get("trigger_label", "trigger")
    lines = []
    for i, (etype, trig, args) in enumerate(events):
        fields = [f"E{i + 1}: {etype}", f"{label}: {_value(trig, arg=False)}"]
        for role, a in args:
            fields.append(f"{role}: E{num[_key(a)]}" if isinstance(a, list) else f"{role}: {_value(a, arg=True)}")
        lines.append(" | ".join(fields))
    return tpl.answers[k % len(tpl.answers)].replace("{events}", "\n".join(lines))


def _fields(body: str) -> list[str]:
    """``body`` split on bars outside JSON-quoted values (a quote opens a value only right after its label)."""
    out, cur, quoted, esc = [], [], False, False
    for ch in body:
        if quoted:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                quoted = False
        elif ch in _BARS:
            out.append("".join(cur))
            cur = []
        else:
            quoted = ch == '"' and not re.split("[:：]", "".join(cur))[-1].strip()
            cur.append(ch)
    out.append("".join(cur))
    return out


def _read_value(raw: str):
    """(is_reference, value) of one field value."""
    v = raw.strip()
    if v.startswith('"'):
        try:
            return False, json.loads(v)
        except ValueError:
            return False, v.strip('"')
    return (True, v) if _REF.fullmatch(v) else (False, " ".join(v.split()))


def parse(text: str | None, meta: dict) -> list:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    lines: dict[str, tuple[str, str, list]] = {}
    for line in str(text).splitlines():
        m = _LINE.match(strip_bullet(line.strip()))
        if m is None:
            continue
        fields = _fields(m.group(2))
        etype, trig, args = " ".join(fields[0].split()), "", []
        for f in fields[1:]:
            lv = re.match(r"([^:：]*)[:：](.*)$", f, re.S)
            if lv is None:
                continue
            label, value = " ".join(lv.group(1).split()), lv.group(2)
            if label.casefold() in TRIGGER_LABELS:
                trig = _read_value(value)[1]
            elif label:
                args.append((label, *_read_value(value)))
        if etype:
            lines.setdefault(f"E{int(m.group(1))}", (etype, trig, args))
    if not lines:
        if is_empty_answer(str(text), load_templates(TASK, meta["lang"]).empty):
            return []
        raise ParseError(f"no event lines in answer: {str(text)[:80]!r}")
    memo: dict[str, list] = {}

    def resolve(label: str, path: frozenset) -> list:
        if label not in memo:
            etype, trig, args = lines[label]
            out = []
            for role, is_ref, v in args:
                if is_ref and v in lines and v not in path:
                    out.append([role, resolve(v, path | {v})])
                elif not is_ref or v not in path:
                    out.append([role, v])  # a dangling reference is kept as the literal text
            memo[label] = [etype, trig, out]
        return memo[label]

    return canonical([resolve(lab, frozenset({lab})) for lab in lines])


@register_task(TASK)
class BionlpEeTask(Task):
    """Nested biomedical events scored per document (strict micro-F1 over whole events)."""

    unit = "document"
    window_long_documents = True
    stage = 1
    max_new_tokens = 1024
    metrics = ("micro_f1",)
    types_key = "event_types"

    def dataset_facts(self, records, info: dict) -> dict | None:
        """``{"types": [...]}``: the event types of the dataset, offered in every prompt."""
        types = sorted({str(ev["type"]) for r in records if is_bionlp_record(r) for ev in r.get("events", [])})
        return {"types": types} if types else None

    def restrict(self, record: dict, keep) -> dict:
        """Only the events of the benchmark's types (renamed); arguments pointing at dropped events go too."""
        if record.get("schema") != "kb":
            return record
        kept = []
        for ev in record.get("events", []):
            t = keep(ev["type"])
            if t is not None:
                kept.append({**ev, "type": t})
        ids = {ev["id"] for ev in kept}
        dropped = {ev["id"] for ev in record.get("events", [])} - ids
        record["events"] = [{**ev, "arguments": [a for a in ev.get("arguments", []) if a.get("ref_id") not in dropped]}
                            for ev in kept]
        return record
