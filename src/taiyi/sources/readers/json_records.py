"""JSON / JSONL objects -> pairs / text / qa / t2t records, mapped in YAML by dotted paths.

Why: many releases are a list of objects (or one object per line, or an object keyed by id) whose keys are the
schema fields under other names (TCM-SD: ``chief_complaint`` + ``medical_history`` -> text, ``norm_syndrome`` ->
label). ``records:`` is the dotted path to the list (empty: the file itself); a spec is a dotted path into one
object (``a.b.0``); ``@key`` is the key of an object-keyed-by-id file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from taiyi.files import DataError
from taiyi.sources.fieldmap import MappedOptions, Spec, options_model, parse_options, rows_to_records
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines, read_text

READER = "json_records"


class JsonOptions(MappedOptions):
    jsonl: bool | None = None  # one object per line; default: by extension (.jsonl / .ndjson)
    records: str = ""  # dotted path to the list (or id-keyed object) of records
    encoding: str = "utf-8"


def lookup(obj: Any, spec: Spec, key: str | None = None) -> str | list[str] | None:
    """The value at a dotted path (strings as they are, numbers as written by JSON, lists element-wise)."""
    if spec == "@key":
        return key
    cur = obj
    for part in str(spec).split(".") if spec != "" else []:
        if isinstance(cur, dict):
            if part in cur and cur[part] is None:  # an explicit null is damage, not an absent optional field
                raise ValueError(f"field {spec!r} is null")
            cur = cur.get(part)
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
        if cur is None:
            return None
    if isinstance(cur, list):
        return [_scalar(x, spec) for x in cur if x is not None]
    return _scalar(cur, spec)


def _scalar(v: Any, spec: Spec) -> str:
    if isinstance(v, (dict, list)):
        raise ValueError(f"path {spec!r} leads to a {type(v).__name__}, not a value")
    return json.dumps(v) if isinstance(v, bool) else v if isinstance(v, (int, float)) else str(v)  # numbers stay
    # numbers, so a number where text belongs is caught (fieldmap.rows_to_records)


def load_objects(path: Path, opts: JsonOptions) -> list[tuple[str, str, Any]]:
    """(where, key, object) for each record object of one file."""
    jsonl = opts.jsonl if opts.jsonl is not None else path.suffix.lower() in (".jsonl", ".ndjson")
    if jsonl:
        out = []
        for no, line in enumerate(read_lines(path, opts.encoding), 1):
            if line.strip():
                try:
                    out.append((f"{path}:{no}", str(no), json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{no}: malformed JSON line ({exc.msg}); is it JSON, not JSONL?") from None
        return out
    try:
        data = json.loads(read_text(path, opts.encoding))
    except json.JSONDecodeError as exc:
        hint = "; one object per line? set jsonl: true" if exc.msg == "Extra data" else ""
        raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg}){hint}") from None
    for part in [p for p in opts.records.split(".") if p]:
        if not isinstance(data, dict) or part not in data:
            raise DataError(f"{path}: no key {part!r} on the path records: {opts.records!r}")
        data = data[part]
    if isinstance(data, dict):
        return [(f"{path}: record {k}", str(k), v) for k, v in data.items()]
    if isinstance(data, list):
        return [(f"{path}: record {i}", str(i), v) for i, v in enumerate(data)]
    raise DataError(f"{path}: records: {opts.records!r} is a {type(data).__name__}, not a list or an object")


@register_reader(READER)
@options_model(JsonOptions)
def read_json_records(root: Path, **options) -> Iterator[dict]:
    """One record per JSON object of each split's file(s) (see ``JsonOptions`` and ``fieldmap.MappedOptions``)."""
    opts = parse_options(JsonOptions, READER, options)
    for split, paths in opts.split_files(root):
        yield from rows_to_records(opts, split, _rows(paths, opts))


def _rows(paths: list[Path], opts: JsonOptions):
    for path in paths:
        for where, key, obj in load_objects(path, opts):
            if not isinstance(obj, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")

            def get(spec: Spec, obj=obj, key=key, where=where):
                try:
                    return lookup(obj, spec, key)
                except ValueError as exc:
                    raise DataError(f"{where}: {exc}") from None

            yield where, path.stem if len(paths) > 1 else "", key, get
