"""Reader for BigBio-schema data as published on the Hugging Face hub (``bigbio/<name>``, configs ``*_bigbio_<schema>``).

Why: ~100 of the paper's English datasets are on the hub in BigBio's schemas (kb, qa, text, pairs, t2t). Our
records use BigBio's field names, so one reader covers them all: it loads Parquet or JSON(L) files through the
``datasets`` library (``load_dataset("parquet"|"json", data_files=...)``), or — for users who are online — a hub id
(``hub_id`` + ``config``), and maps each example into our schema. Adding such a dataset needs a catalog entry only.

Mapping notes: kb records are copied field by field (offsets are validated later by the schema's checks);
BigBio qa types ``list`` -> ``factoid`` and ``summary`` -> ``free``; hub split ``validation`` -> ``dev``.
Record ids are ``<split>-<BigBio id>`` (BigBio ids are unique per split only); ``document_id`` is kept as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from taiyi.corpus.schema import QA_TYPES, SCHEMA_KEYS, new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader

SPLIT_NAMES = {"validation": "dev", "valid": "dev", "val": "dev"}
QA_TYPE_MAP = {"list": "factoid", "summary": "free", "yes/no": "yesno", "yes_no": "yesno"}
BIGBIO_SCHEMAS = ("kb", "qa", "text", "pairs", "t2t")


def _format(files: dict[str, Any]) -> str:
    names = [str(p) for v in files.values() for p in (v if isinstance(v, list) else [v])]
    exts = {n.rsplit(".", 1)[-1].lower() for n in names}
    if exts <= {"parquet"}:
        return "parquet"
    if exts <= {"json", "jsonl"}:
        return "json"
    raise DataError(f"cannot tell the format of {names}: give the reader option format: parquet | json")


def _infer_schema(features: set[str], config: str | None) -> str:
    if config and "_bigbio_" in config:
        return config.rsplit("_bigbio_", 1)[1]
    for schema in ("kb", "qa", "t2t", "pairs", "text"):
        keys = set(SCHEMA_KEYS[schema]) - {"question_id"} if schema == "qa" else set(SCHEMA_KEYS[schema])
        if keys <= features:
            return schema
    raise DataError(f"cannot tell the BigBio schema from the fields {sorted(features)}: give the reader option schema")


def _span(x: dict) -> dict:
    return {"text": list(x.get("text") or []), "offsets": [list(map(int, o)) for o in (x.get("offsets") or [])]}


def _normalized(items) -> list[dict]:
    return [{"db_name": n.get("db_name", ""), "db_id": n.get("db_id", "")} for n in (items or [])]


def _map(ex: dict, schema: str, rid: str, split: str, lang: str, dataset: str, where: str) -> dict:
    common = dict(id=rid, document_id=str(ex.get("document_id") or ex.get("id") or rid), dataset=dataset, split=split, lang=lang)
    try:
        if schema == "kb":
            return new_record(
                "kb", **common,
                passages=[{"id": str(p["id"]), "type": p.get("type") or "", **_span(p)} for p in ex.get("passages") or []],
                entities=[{"id": str(e["id"]), "type": e.get("type") or "", **_span(e), "normalized": _normalized(e.get("normalized"))}
                          for e in ex.get("entities") or []],
                relations=[{"id": str(r["id"]), "type": r.get("type") or "", "arg1_id": str(r["arg1_id"]),
                            "arg2_id": str(r["arg2_id"]), "normalized": _normalized(r.get("normalized"))}
                           for r in ex.get("relations") or []],
                events=[{"id": str(v["id"]), "type": v.get("type") or "", "trigger": _span(v.get("trigger") or {}),
                         "arguments": [{"role": a.get("role") or "", "ref_id": str(a["ref_id"])} for a in v.get("arguments") or []]}
                        for v in ex.get("events") or []],
                coreferences=[{"id": str(c["id"]), "entity_ids": [str(i) for i in c.get("entity_ids") or []]}
                              for c in ex.get("coreferences") or []],
            )
        if schema == "qa":
            qtype = QA_TYPE_MAP.get(ex.get("type") or "", ex.get("type") or "free")
            if qtype not in QA_TYPES:
                raise DataError(f"{where}: qa type {ex.get('type')!r} has no counterpart in {QA_TYPES}")
            return new_record(
                "qa", **common, question_id=str(ex.get("question_id") or rid), question=ex["question"], type=qtype,
                choices=[str(c) for c in ex.get("choices") or []], context=ex.get("context") or "",
                answer=[str(a) for a in ex.get("answer") or []],
            )
        if schema == "text":
            return new_record("text", **common, text=ex["text"], labels=[str(x) for x in ex.get("labels") or []])
        if schema == "pairs":
            return new_record("pairs", **common, text_1=ex["text_1"], text_2=ex["text_2"], label=str(ex.get("label") or ""))
        if schema == "t2t":
            return new_record("t2t", **common, text_1=ex["text_1"], text_2=ex["text_2"],
                              text_1_name=ex.get("text_1_name") or "", text_2_name=ex.get("text_2_name") or "")
    except (KeyError, TypeError) as exc:
        raise DataError(f"{where}: not a BigBio {schema} record ({type(exc).__name__}: {exc})") from None
    raise DataError(f"{where}: unknown BigBio schema {schema!r}; expected one of {BIGBIO_SCHEMAS}")


@register_reader("bigbio")
def read_bigbio(
    root: Path, *, data_files: dict[str, str | list[str]] | None = None, hub_id: str | None = None,
    config: str | None = None, schema: str | None = None, format: str | None = None, lang: str = "en",
    dataset: str = "bigbio", cache_dir: str | None = None,
) -> Iterator[dict]:
    """``data_files`` {split: path(s) relative to root} for local Parquet/JSONL, or ``hub_id`` (+ ``config``)."""
    import datasets  # heavy: imported only when this reader runs

    root = Path(root)
    if data_files:
        resolved: dict[str, list[str]] = {}
        for split, rel in data_files.items():
            paths = [rel] if isinstance(rel, str) else list(rel)
            found = []
            for p in paths:
                matches = sorted(root.glob(p)) if any(ch in p for ch in "*?[") else [root / p]
                if not matches or not all(m.is_file() for m in matches):
                    raise DataError(f"{root / p}: BigBio file for split {split!r} not found")
                found += [str(m) for m in matches]
            resolved[split] = found
        fmt = format or _format(resolved)
        source = f"{fmt} files {resolved}"
        try:
            ds = datasets.load_dataset(fmt, data_files=resolved, cache_dir=cache_dir)
        except Exception as exc:  # pyarrow/json errors: name the files
            raise DataError(f"{source}: cannot load ({type(exc).__name__}: {exc})") from None
    elif hub_id:
        source = f"hub dataset {hub_id}" + (f" ({config})" if config else "")
        try:
            ds = datasets.load_dataset(hub_id, config, cache_dir=cache_dir)
        except Exception as exc:
            raise DataError(f"{source}: cannot load ({type(exc).__name__}: {exc}); offline? use data_files") from None
    else:
        raise DataError(f"{root}: reader 'bigbio' needs data_files (local Parquet/JSONL) or hub_id")
    for hub_split, part in ds.items():
        split = SPLIT_NAMES.get(hub_split, hub_split)
        use = schema or _infer_schema(set(part.column_names), config)
        if use not in BIGBIO_SCHEMAS:
            raise DataError(f"{source}: unknown BigBio schema {use!r}; expected one of {BIGBIO_SCHEMAS}")
        for i, ex in enumerate(part):
            where = f"{source}: split {hub_split} example {i}" + (f" (id {ex['id']})" if ex.get("id") is not None else "")
            yield _map(ex, use, f"{split}-{ex.get('id', i)}", split, lang, dataset, where)
