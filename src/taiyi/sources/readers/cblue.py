"""Readers for the CBLUE family (Chinese Biomedical Language Understanding Evaluation, Tianchi).

Why: CBLUE's ten tasks share one layout (``<Task>_{train,dev,test}.json`` in one folder) but each task has its
own JSON shape; this module turns every one of them into unified records. One reader per shape:

- ``cblue_ner``   CMeEE v1/v2: JSON list {text, entities[start_idx, end_idx (INCLUSIVE), type, entity]} -> kb.
- ``cblue_re``    CMeIE: JSON lines {text, spo_list[...]} -> kb entities + relations typed by predicate.
- ``cblue_ee``    CHIP-CDEE: JSON list {id, text, event[core_name, tendency, character[], anatomy_list[]]} -> kb events.
- ``cblue_cls``   CHIP-CTC, KUAKE-QIC: JSON list {id, text|query, label} -> text.
- ``cblue_pairs`` CHIP-STS, KUAKE-QQR, KUAKE-QTR: JSON list {id, <a>, <b>, label} -> pairs (a pair with an
  empty side is skipped with a warning naming file and record: KUAKE-QTR test item s4127 has an empty title).
- ``cblue_norm``  CHIP-CDN: JSON list {text, normalized_result ("##"-joined ICD names)} -> t2t.

Official CBLUE test files carry no labels; they become split ``test_unlabelled`` (labels left empty).

Decisions where the data is ambiguous (documented here because later stages rely on them):

- CMeIE gives subject/object as strings, not spans. Each mention is located in the text; when it occurs several
  times, the occurrence pair (subject, object) closest to each other is taken (ties: earliest). A mention not found
  is a DataError naming file and line, unless ``unlocated="skip"`` (then the triple is dropped and counted in the
  log). Identical triples repeated in a sentence are kept (the published count includes them).
- CHIP-CDEE attributes are free text that need not occur in the sentence (1,003 train core names do not), so
  every attribute is a text-valued argument ``{"role", "text"}`` (roles core_name, tendency, character, anatomy);
  the trigger is the first occurrence of the core name when it occurs, else empty. Event type: "临床发现事件".
- CHIP-CDN becomes t2t (text_1 = raw diagnosis, text_2 = the "##"-joined standard names, kept verbatim): the data
  holds ICD *names* only, no codes to put in ``normalized``, and the mention is the whole text, so a kb record
  would add nothing but empty offsets; Taiyi and PromptCBLUE also treat it as generation of the standard terms.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError, read_json, read_jsonl_numbered
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import field

log = logging.getLogger(__name__)

UNLABELLED = "test_unlabelled"
CDEE_EVENT_TYPE = "临床发现事件"


def _split_files(root: Path, files: dict[str, str], optional=()) -> Iterator[tuple[str, Path]]:
    """(split, path) for the configured files; a missing file is an error naming it, unless its split is listed
    in ``optional`` (e.g. CMeEE's train file, which not every copy of CBLUE has)."""
    if not files:
        raise DataError(f"{root}: reader needs a 'files' option mapping split -> file")
    for split, rel in files.items():
        path = root / rel
        if not path.is_file():
            if split in optional:
                log.info("%s: optional %s file absent, split skipped", path, split)
                continue
            raise DataError(f"{path}: file for split {split!r} not found")
        yield split, path


def _json_list(path: Path) -> list:
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(f"{path}: record {i}: expected a JSON object, got {type(item).__name__}")
    return data


def _field(path: Path, where: str, item: dict, key: str, kind: type | tuple[type, ...] = str):
    return field(f"{path}: {where}", item, key, kind)


def _is_unlabelled(split: str) -> bool:
    return split == UNLABELLED


def _record_id(split: str, item: dict, index: int) -> str:
    return f"{split}-{item['id']}" if "id" in item and item["id"] not in (None, "") else f"{split}-{index}"


def _check_unique(path: Path, ids: set, rid: str, where: str) -> None:
    if rid in ids:
        raise DataError(f"{path}: {where}: duplicate id {rid!r}")
    ids.add(rid)


# --------------------------------------------------------------------------- NER (CMeEE v1 / v2)


@register_reader("cblue_ner")
def read_cblue_ner(root: Path, *, files: dict[str, str], optional: list[str] = (), lang: str = "zh", dataset: str = "CMeEE-V2") -> Iterator[dict]:
    """CMeEE: inclusive ``end_idx`` becomes an end-exclusive offset; each span must reproduce its ``entity``."""
    root = Path(root)
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        for i, item in enumerate(_json_list(path)):
            where = f"record {i}"
            text = _field(path, where, item, "text")
            rid = _record_id(split, item, i)
            _check_unique(path, ids, rid, where)
            entities = []
            for j, ent in enumerate(item.get("entities") or []):
                try:
                    s, e_incl, etype = int(ent["start_idx"]), int(ent["end_idx"]), ent["type"]
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataError(f"{path}: {where}: entity {j} malformed ({exc!r}): {ent}") from None
                e = e_incl + 1
                mention = ent.get("entity", text[s:e])
                if not (0 <= s < e <= len(text)) or text[s:e] != mention:
                    raise DataError(
                        f"{path}: {where}: entity {j} [{s},{e_incl}] (end inclusive) gives {text[s:e]!r}, "
                        f"not {mention!r}"
                    )
                entities.append({"id": f"{rid}-T{j}", "type": etype, "text": [mention], "offsets": [[s, e]], "normalized": []})
            yield new_record(
                "kb", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang,
                passages=make_passages([("sentence", text)]), entities=entities,
            )


# --------------------------------------------------------------------------- RE (CMeIE)


def _occurrences(text: str, mention: str) -> list[int]:
    out, start = [], text.find(mention)
    while start >= 0 and mention:
        out.append(start)
        start = text.find(mention, start + 1)
    return out


def _closest_pair(subj: list[int], obj: list[int], ls: int, lo: int) -> tuple[int, int]:
    best = None
    for s in subj:
        for o in obj:
            dist = max(o - (s + ls), s - (o + lo), 0) + abs(s - o) * 1e-9
            key = (dist, s, o)
            if best is None or key < best:
                best = key
    return best[1], best[2]


def _value(x):
    """CMeIE wraps object and object_type as {"@value": ...}; subject fields are plain strings."""
    return x.get("@value") if isinstance(x, dict) else x


@register_reader("cblue_re")
def read_cblue_re(
    root: Path, *, files: dict[str, str], optional: list[str] = (), lang: str = "zh", dataset: str = "CMeIE", unlocated: str = "error"
) -> Iterator[dict]:
    """CMeIE JSON lines -> kb: subject/object located in the text (closest pair), relation type = predicate."""
    if unlocated not in ("error", "skip"):
        raise ValueError(f"unlocated must be 'error' or 'skip', not {unlocated!r}")
    root = Path(root)
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        skipped = 0
        for line_no, item in read_jsonl_numbered(path):
            where = f"line {line_no}"
            text = _field(path, where, item, "text")
            rid = _record_id(split, item, line_no)
            _check_unique(path, ids, rid, where)
            entities: dict[tuple[str, int, int], dict] = {}
            relations = []

            def entity_id(etype: str, start: int, mention: str) -> str:
                key = (etype, start, start + len(mention))
                if key not in entities:
                    entities[key] = {
                        "id": f"{rid}-T{len(entities)}", "type": etype, "text": [mention],
                        "offsets": [[start, start + len(mention)]], "normalized": [],
                    }
                return entities[key]["id"]

            for k, spo in enumerate(item.get("spo_list") or []):
                try:
                    subj, stype = spo["subject"], spo["subject_type"]
                    obj, otype = _value(spo["object"]), _value(spo["object_type"])
                    pred = spo["predicate"]
                except (KeyError, TypeError) as exc:
                    raise DataError(f"{path}: {where}: spo {k} malformed (missing {exc}): {spo}") from None
                if not all(isinstance(v, str) and v for v in (subj, stype, obj, otype, pred)):
                    raise DataError(f"{path}: {where}: spo {k} has an empty or non-string field: {spo}")
                s_occ, o_occ = _occurrences(text, subj), _occurrences(text, obj)
                if not s_occ or not o_occ:
                    missing = subj if not s_occ else obj
                    if unlocated == "skip":
                        skipped += 1
                        continue
                    raise DataError(f"{path}: {where}: spo {k}: mention {missing!r} does not occur in the text")
                s, o = _closest_pair(s_occ, o_occ, len(subj), len(obj))
                a1, a2 = entity_id(stype, s, subj), entity_id(otype, o, obj)
                relations.append({"id": f"{rid}-R{k}", "type": pred, "arg1_id": a1, "arg2_id": a2, "normalized": []})
            yield new_record(
                "kb", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang,
                passages=make_passages([("sentence", text)]), entities=list(entities.values()), relations=relations,
            )
        if skipped:
            log.warning("%s: skipped %d triple(s) whose mention does not occur in the text", path, skipped)


# --------------------------------------------------------------------------- EE (CHIP-CDEE)


@register_reader("cblue_ee")
def read_cblue_ee(root: Path, *, files: dict[str, str], optional: list[str] = (), lang: str = "zh", dataset: str = "CHIP-CDEE") -> Iterator[dict]:
    """CHIP-CDEE -> kb events with text-valued arguments (core_name, tendency, character, anatomy)."""
    root = Path(root)
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        for i, item in enumerate(_json_list(path)):
            where = f"record {i}" + (f" (id {item['id']})" if "id" in item else "")
            text = _field(path, where, item, "text")
            rid = _record_id(split, item, i)
            _check_unique(path, ids, rid, where)
            events = []
            for j, ev in enumerate(item.get("event") or []):
                if not isinstance(ev, dict) or not isinstance(ev.get("core_name"), str) or not ev["core_name"]:
                    raise DataError(f"{path}: {where}: event {j} has no core_name: {ev}")
                core = ev["core_name"]
                args = [{"role": "core_name", "text": core}]
                tendency = (ev.get("tendency") or "").strip()
                if tendency:
                    args.append({"role": "tendency", "text": tendency})
                for role, key in (("character", "character"), ("anatomy", "anatomy_list")):
                    vals = ev.get(key) or []
                    if not isinstance(vals, list):
                        raise DataError(f"{path}: {where}: event {j}: {key} must be a list, got {vals!r}")
                    args += [{"role": role, "text": v} for v in vals if isinstance(v, str) and v.strip()]
                start = text.find(core)
                trigger = {"text": [core], "offsets": [[start, start + len(core)]]} if start >= 0 else {"text": [], "offsets": []}
                events.append({"id": f"{rid}-E{j}", "type": CDEE_EVENT_TYPE, "trigger": trigger, "arguments": args})
            yield new_record(
                "kb", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang,
                passages=make_passages([("sentence", text)]), events=events,
            )


# --------------------------------------------------------------------------- text classification


@register_reader("cblue_cls")
def read_cblue_cls(
    root: Path, *, files: dict[str, str], optional: list[str] = (), text_field: str = "text", lang: str = "zh", dataset: str = "CHIP-CTC"
) -> Iterator[dict]:
    """CHIP-CTC / KUAKE-QIC: {id, text|query, label} -> text record with ``labels=[label]``."""
    root = Path(root)
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        for i, item in enumerate(_json_list(path)):
            where = f"record {i}"
            text = _field(path, where, item, text_field)
            rid = _record_id(split, item, i)
            _check_unique(path, ids, rid, where)
            if _is_unlabelled(split):
                labels = []
            else:
                label = _field(path, where, item, "label", (str, int, list))
                labels = list(label) if isinstance(label, list) else [str(label)]
            yield new_record("text", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang, text=text, labels=labels)


# --------------------------------------------------------------------------- sentence pairs


@register_reader("cblue_pairs")
def read_cblue_pairs(
    root: Path, *, files: dict[str, str], optional: list[str] = (), fields: tuple[str, str] | list[str] = ("text1", "text2"),
    lang: str = "zh", dataset: str = "CHIP-STS",
) -> Iterator[dict]:
    """CHIP-STS {text1,text2}, KUAKE-QQR {query1,query2}, KUAKE-QTR {query,title} -> pairs with the label string."""
    root = Path(root)
    f1, f2 = fields
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        for i, item in enumerate(_json_list(path)):
            where = f"record {i}"
            t1, t2 = _field(path, where, item, f1), _field(path, where, item, f2)
            rid = _record_id(split, item, i)
            _check_unique(path, ids, rid, where)
            if not (str(t1).strip() and str(t2).strip()):
                # one KUAKE-QTR test item has an empty title; a pair with an empty side is unusable
                log.warning("%s: %s (id %s): empty %s or %s, record skipped", path, where, item.get("id"), f1, f2)
                continue
            label = "" if _is_unlabelled(split) else str(_field(path, where, item, "label", (str, int)))
            yield new_record(
                "pairs", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang, text_1=t1, text_2=t2, label=label
            )


# --------------------------------------------------------------------------- normalisation (CHIP-CDN)


@register_reader("cblue_norm")
def read_cblue_norm(root: Path, *, files: dict[str, str], optional: list[str] = (), lang: str = "zh", dataset: str = "CHIP-CDN") -> Iterator[dict]:
    """CHIP-CDN -> t2t (text_1 raw diagnosis, text_2 "##"-joined standard names). A leading BOM is dropped."""
    root = Path(root)
    for split, path in _split_files(root, files, optional):
        ids: set[str] = set()
        for i, item in enumerate(_json_list(path)):
            where = f"record {i}"
            text = str(_field(path, where, item, "text")).lstrip("\ufeff")
            rid = _record_id(split, item, i)
            _check_unique(path, ids, rid, where)
            norm = "" if _is_unlabelled(split) else str(_field(path, where, item, "normalized_result"))
            yield new_record(
                "t2t", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang,
                text_1=text, text_2=norm, text_1_name="diagnosis", text_2_name="normalized_terms",
            )
