"""The unified record schema (BigBio field names, plus dialogue) and its validators.

Why: every later stage reads only this shape. Records are plain dicts (fast to (de)serialise with
orjson); this module says what keys each schema has and checks the invariants BigBio's test harness
checks: unique ids, span offsets reproduce their text, referenced ids exist, MC answers among choices.

Common keys on every record: ``id``, ``document_id``, ``dataset``, ``split``, ``lang`` (zh|en|zh-en),
``schema`` (one of SCHEMAS).

kb:       passages[{id,type,text[],offsets[[s,e]]}], entities[{id,type,text[],offsets[[s,e]],normalized[{db_name,db_id}]}],
          relations[{id,type,arg1_id,arg2_id,normalized[]}],
          events[{id,type,trigger{text[],offsets[[s,e]]},arguments[{role,ref_id}|{role,text}]}],
          coreferences[{id,entity_ids[]}]
qa:       question_id, question, type (multiple_choice|yesno|factoid|free), choices[], context, answer[]
text:     text, labels[]
pairs:    text_1, text_2, label
t2t:      text_1, text_2, text_1_name, text_2_name
dialogue: turns[{role: user|assistant|system, content}], meta{}

Offsets are character offsets (end exclusive) into the *document text*: passages laid at their offsets
(normally the passage texts joined with one space, as BigBio does).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from taiyi.files import DataError

SCHEMAS = ("kb", "qa", "text", "pairs", "t2t", "dialogue")
LANGS = ("zh", "en", "zh-en")
QA_TYPES = ("multiple_choice", "yesno", "factoid", "free")
DIALOGUE_ROLES = ("system", "user", "assistant")

COMMON_KEYS = ("id", "document_id", "dataset", "split", "lang", "schema")
SCHEMA_KEYS: dict[str, tuple[str, ...]] = {
    "kb": ("passages", "entities", "relations", "events", "coreferences"),
    "qa": ("question_id", "question", "type", "choices", "context", "answer"),
    "text": ("text", "labels"),
    "pairs": ("text_1", "text_2", "label"),
    "t2t": ("text_1", "text_2", "text_1_name", "text_2_name"),
    "dialogue": ("turns", "meta"),
}


# Field defaults per schema (mutable values are copied per record; qa's question_id defaults to the id).
_DEFAULTS: dict[str, dict] = {
    "kb": {"passages": [], "entities": [], "relations": [], "events": [], "coreferences": []},
    "qa": {"question_id": None, "question": "", "type": "free", "choices": [], "context": "", "answer": []},
    "text": {"text": "", "labels": []},
    "pairs": {"text_1": "", "text_2": "", "label": ""},
    "t2t": {"text_1": "", "text_2": "", "text_1_name": "", "text_2_name": ""},
    "dialogue": {"turns": [], "meta": {}},
}


def new_record(schema: str, *, id: str, document_id: str, dataset: str, split: str, lang: str, **fields) -> dict:
    """Make a record with every key of its schema present (lists empty, strings empty unless given)."""
    if schema not in SCHEMA_KEYS:
        raise ValueError(f"unknown schema {schema!r}; expected one of {SCHEMAS}")
    rec = {"id": str(id), "document_id": str(document_id), "dataset": dataset, "split": split, "lang": lang, "schema": schema}
    defaults = _DEFAULTS[schema]
    for key in fields:
        if key not in defaults:
            unknown = sorted(set(fields) - set(defaults))
            raise ValueError(f"unknown field(s) {unknown} for schema {schema!r}")
    for key, value in defaults.items():
        if key not in fields:
            rec[key] = str(id) if key == "question_id" else (value.copy() if isinstance(value, (list, dict)) else value)
    rec.update(fields)
    return rec


def document_text(record: dict) -> str:
    """The text that kb offsets index into: each passage placed at its offsets, gaps filled with spaces."""
    parts: list[tuple[int, int, str]] = []
    for p in record.get("passages", []):
        for (s, e), t in zip(p["offsets"], p["text"]):
            parts.append((s, e, t))
    if not parts:
        return ""
    end = max(e for _, e, _ in parts)
    buf = [" "] * end
    for s, e, t in parts:
        buf[s:e] = list(t)
    return "".join(buf)


def make_passages(texts: Iterable[tuple[str, str]]) -> list[dict]:
    """Passages from (type, text) pairs, joined with one space as BigBio does."""
    out, pos = [], 0
    for i, (ptype, text) in enumerate(texts):
        out.append({"id": str(i), "type": ptype, "text": [text], "offsets": [[pos, pos + len(text)]]})
        pos += len(text) + 1
    return out


def validate_record(rec: dict) -> list[str]:
    """All problems of one record (empty list = valid). Messages name the record id."""
    rid = rec.get("id", "<no id>")
    errs: list[str] = []
    for k in COMMON_KEYS:
        if k not in rec:
            errs.append(f"record {rid}: missing key {k!r}")
    schema = rec.get("schema")
    if schema not in SCHEMA_KEYS:
        return errs + [f"record {rid}: unknown schema {schema!r}"]
    if rec.get("lang") not in LANGS:
        errs.append(f"record {rid}: lang {rec.get('lang')!r} not in {LANGS}")
    for k in SCHEMA_KEYS[schema]:
        if k not in rec:
            errs.append(f"record {rid}: missing {schema} key {k!r}")
    if errs:
        return errs
    return errs + _CHECKS[schema](rec)


def _check_kb(rec: dict) -> list[str]:
    rid, errs = rec["id"], []
    text = document_text(rec)
    for p in rec["passages"]:
        if len(p["text"]) != len(p["offsets"]):
            errs.append(f"record {rid}: passage {p['id']} has {len(p['text'])} texts but {len(p['offsets'])} offsets")
    ids = Counter()
    for e in rec["entities"]:
        ids[e["id"]] += 1
        errs += _check_span(rid, f"entity {e['id']}", e, text)
    for ev in rec["events"]:
        ids[ev["id"]] += 1
        errs += _check_span(rid, f"event {ev['id']} trigger", ev["trigger"], text)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        errs.append(f"record {rid}: duplicate entity/event ids {dup[:5]}")
    known = set(ids)
    for r in rec["relations"]:
        for arg in ("arg1_id", "arg2_id"):
            if r[arg] not in known:
                errs.append(f"record {rid}: relation {r['id']} {arg}={r[arg]!r} is not an entity id")
    for ev in rec["events"]:
        for a in ev["arguments"]:
            if "ref_id" in a and a["ref_id"] not in known:
                errs.append(f"record {rid}: event {ev['id']} argument {a.get('role')} ref_id={a['ref_id']!r} unknown")
    for c in rec["coreferences"]:
        for eid in c["entity_ids"]:
            if eid not in known:
                errs.append(f"record {rid}: coreference {c['id']} names unknown entity {eid!r}")
    return errs


def _check_span(rid: str, what: str, span: dict, text: str) -> list[str]:
    if len(span["text"]) != len(span["offsets"]):
        return [f"record {rid}: {what} has {len(span['text'])} texts but {len(span['offsets'])} offsets"]
    errs = []
    for (s, e), t in zip(span["offsets"], span["text"]):
        if not (0 <= s <= e <= len(text)):
            errs.append(f"record {rid}: {what} offsets [{s},{e}] outside document of length {len(text)}")
        elif text[s:e] != t:
            errs.append(f"record {rid}: {what} offsets [{s},{e}] give {text[s:e]!r}, not {t!r}")
    return errs


def _check_qa(rec: dict) -> list[str]:
    rid, errs = rec["id"], []
    if rec["type"] not in QA_TYPES:
        errs.append(f"record {rid}: qa type {rec['type']!r} not in {QA_TYPES}")
    if not rec["question"].strip():
        errs.append(f"record {rid}: empty question")
    if rec["type"] in ("multiple_choice", "yesno") and rec["choices"]:
        missing = [a for a in rec["answer"] if a not in rec["choices"]]
        if missing:
            errs.append(f"record {rid}: answer {missing} not among choices {rec['choices']}")
    if not rec["answer"] and rec["split"] != "test_unlabelled":
        errs.append(f"record {rid}: no answer")
    return errs


def _check_text(rec: dict) -> list[str]:
    errs = []
    if not rec["text"].strip():
        errs.append(f"record {rec['id']}: empty text")
    if not isinstance(rec["labels"], list):
        errs.append(f"record {rec['id']}: labels must be a list")
    return errs


def _check_pairs(rec: dict) -> list[str]:
    if not (rec["text_1"].strip() and rec["text_2"].strip()):
        return [f"record {rec['id']}: empty text_1 or text_2"]
    return []


def _check_t2t(rec: dict) -> list[str]:
    if not rec["text_1"].strip():
        return [f"record {rec['id']}: empty text_1"]
    if not rec["text_2"].strip() and rec["split"] != "test_unlabelled":  # labelless test sets have no target
        return [f"record {rec['id']}: empty text_2"]
    return []


def _check_dialogue(rec: dict) -> list[str]:
    rid, errs = rec["id"], []
    turns = rec["turns"]
    if not any(t.get("role") == "assistant" for t in turns):
        errs.append(f"record {rid}: dialogue has no assistant turn")
    for i, t in enumerate(turns):
        if t.get("role") not in DIALOGUE_ROLES:
            errs.append(f"record {rid}: turn {i} role {t.get('role')!r} not in {DIALOGUE_ROLES}")
        if not str(t.get("content", "")).strip():
            errs.append(f"record {rid}: turn {i} is empty")
    return errs


_CHECKS = {"kb": _check_kb, "qa": _check_qa, "text": _check_text, "pairs": _check_pairs, "t2t": _check_t2t, "dialogue": _check_dialogue}


def validate_records(records: Iterable[dict], *, source: str = "") -> list[str]:
    """Problems across a split: per-record problems plus ids that are not unique."""
    errs: list[str] = []
    seen: set[str] = set()
    for rec in records:
        errs += validate_record(rec)
        rid = rec.get("id")
        if rid in seen:
            errs.append(f"record {rid}: id not unique{' in ' + source if source else ''}")
        seen.add(rid)
    return errs


def assert_valid(records: list[dict], *, source: str = "") -> None:
    errs = validate_records(records, source=source)
    if errs:
        more = f" (and {len(errs) - 10} more)" if len(errs) > 10 else ""
        raise DataError(f"{source}: {len(errs)} invalid record(s): " + "; ".join(errs[:10]) + more)
