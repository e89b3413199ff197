"""Interop with other instruction formats: Taiyi's released format (import/export) and LLaMA-Factory (export).

Why: users of the original Taiyi data should be able to bring it in, and users of LLaMA-Factory should be able
to train on our data as is. Taiyi's format is one JSON object per line:
``{conversation_id, dataset, category, language, conversation: [{human, assistant}, ...]}``. Import keeps the
original id, category and language in ``meta.taiyi`` so that export gives the same objects back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator

from taiyi.files import DataError, atomic_dir, dumps, expand_shards, read_jsonl, write_json, write_jsonl

# Taiyi category code -> our codec name (categories as in taiyi_datasets.md)
CATEGORY_TASK = {
    "NER": "ner", "NEN": "ner", "RE": "re", "CRE": "re", "EE": "ee", "TC": "cls", "TP-ss": "pair", "TP-te": "pair",
    "MT-zh2en": "mt", "MT-en2zh": "mt", "MT": "mt", "TT-ds": "title", "TT-ts": "report", "ADD": "report",
    "QA_choice": "mcqa", "QA-multiple_choice": "mcqa", "QA-yesno": "mcqa", "QA_sqa": "qa", "QA_cqa": "qa",
    "QA-sqa": "qa", "QA-cqa": "qa", "MRD": "dialogue", "COT": "dialogue",
}
TASK_CATEGORY = {"ner": "NER", "re": "RE", "ee": "EE", "cls": "TC", "pair": "TP-ss", "mt": "MT", "title": "TT-ds",
                 "report": "ADD", "mcqa": "QA_choice", "qa": "QA_sqa", "dialogue": "MRD"}
_LANG = {"zh": "zh", "en": "en", "zh-en": "zh-en", "en-zh": "zh-en"}


def from_taiyi(obj: dict, where: str = "") -> dict:
    """One Taiyi conversation -> one of our instruction records (stage left unset)."""
    for key in ("conversation_id", "dataset", "category", "language", "conversation"):
        if key not in obj:
            raise DataError(f"{where}: missing key {key!r}")
    conv = obj["conversation"]
    if not isinstance(conv, list) or not conv:
        raise DataError(f"{where}: 'conversation' must be a non-empty list")
    messages = []
    for i, turn in enumerate(conv):
        if not isinstance(turn, dict) or not isinstance(turn.get("human"), str) or not isinstance(turn.get("assistant"), str):
            raise DataError(f"{where}: conversation[{i}] must have string 'human' and 'assistant'")
        messages += [{"role": "user", "content": turn["human"]}, {"role": "assistant", "content": turn["assistant"]}]
    lang = _LANG.get(obj["language"])
    if lang is None:
        raise DataError(f"{where}: language {obj['language']!r} not one of {sorted(_LANG)}")
    cid = obj["conversation_id"]
    extra = {k: v for k, v in obj.items() if k not in ("conversation_id", "dataset", "category", "language", "conversation")}
    return {
        "id": f"taiyi/{obj['dataset']}/{cid}", "dataset": obj["dataset"],
        "task": CATEGORY_TASK.get(obj["category"], "dialogue"), "lang": lang, "template_id": "taiyi_released",
        "document_id": f"taiyi/{obj['dataset']}/{cid}",
        "meta": {"taiyi": {"conversation_id": cid, "category": obj["category"], "language": obj["language"],
                           "keys": list(obj), **({"extra": extra} if extra else {})}},
        "messages": messages,
    }


def to_taiyi(rec: dict, conversation_id: int, where: str = "") -> dict:
    """One of our records -> a Taiyi conversation (user/assistant turns paired; system prompts dropped)."""
    msgs = [m for m in rec.get("messages", []) if m.get("role") != "system"]
    if not msgs or len(msgs) % 2 or any(m["role"] != ("user" if i % 2 == 0 else "assistant") for i, m in enumerate(msgs)):
        raise DataError(f"{where}: record {rec.get('id')}: messages must alternate user/assistant to export to Taiyi's format")
    orig = (rec.get("meta") or {}).get("taiyi") or {}
    lang = rec.get("lang", "en")
    out = {
        "conversation_id": orig.get("conversation_id", conversation_id),
        "dataset": rec.get("dataset", ""),
        "category": orig.get("category", TASK_CATEGORY.get(rec.get("task", ""), "MRD")),
        "language": orig.get("language", lang),
        "conversation": [{"human": msgs[i]["content"], "assistant": msgs[i + 1]["content"]} for i in range(0, len(msgs), 2)],
        **orig.get("extra", {}),
    }
    keys = orig.get("keys")
    return {k: out[k] for k in keys if k in out} if keys else out


def import_taiyi(src: str | Path, dst: str | Path) -> int:
    """Convert a Taiyi-format JSONL file into our instruction JSONL; returns the count."""
    src = Path(src)
    return write_jsonl(dst, (from_taiyi(o, f"{src}:{n}") for n, o in enumerate(read_jsonl(src), 1)))


def export_taiyi(src: str | Path, dst: str | Path) -> int:
    """Convert our instruction JSONL into Taiyi's released format; returns the count."""
    rows = ((p, r) for p in expand_shards(src) for r in read_jsonl(p))  # a file, or the shards of one
    return write_jsonl(dst, (to_taiyi(r, n, f"{p}:{n}") for n, (p, r) in enumerate(rows, 1)))


def _sharegpt(rows: Iterable[dict]) -> Iterator[dict]:
    for r in rows:
        yield {"messages": [{"role": m["role"], "content": m["content"]} for m in r["messages"]],
               "id": r.get("id"), "dataset": r.get("dataset"), "task": r.get("task"), "lang": r.get("lang")}


def export_llamafactory(src_dir: str | Path, dst_dir: str | Path, *, prefix: str = "taiyi") -> dict:
    """Write LLaMA-Factory's ``dataset_info.json`` + one data file per stage / eval set of an instructions dir.

    Each entry uses LLaMA-Factory's sharegpt formatting with OpenAI-style ``messages`` (role/content tags),
    so ``dataset: taiyi_stage1`` in a LLaMA-Factory config trains on our data as is.
    """
    src_dir = Path(src_dir)
    stems = sorted({re.sub(r"-\d{5}-of-\d{5}$", "", f.stem) for f in src_dir.glob("stage*.jsonl")})
    files = [src_dir / f"{s}.jsonl" for s in stems] + sorted((src_dir / "eval").glob("*.jsonl"))
    if not files:
        raise DataError(f"{src_dir}: no stage*.jsonl or eval/*.jsonl to export (run `taiyi build` first)")
    info = {}
    with atomic_dir(dst_dir) as tmp:
        for f in files:
            name = f"{prefix}_{f.stem}" if f.parent == src_dir else f"{prefix}_eval_{f.stem}"
            fname = f"{name}.jsonl"
            with open(tmp / fname, "wb") as fh:
                for row in _sharegpt(r for part in expand_shards(f) for r in read_jsonl(part)):
                    fh.write(dumps(row))
                    fh.write(b"\n")
            info[name] = {
                "file_name": fname,
                "formatting": "sharegpt",
                "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"},
            }
        write_json(tmp / "dataset_info.json", info)
    return info
