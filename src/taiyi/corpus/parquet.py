"""Parquet export of corpus records (pyarrow), for users who load the corpus with pandas/datasets/duckdb.

Why: JSONL is the contract between stages; Parquet is the convenient columnar copy. Nested fields keep
their structure when pyarrow can infer one type for them; a column whose values disagree in shape (e.g.
free-form ``meta`` dicts) is stored as JSON text instead, and named in the file's metadata.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from taiyi.files import atomic_path

JSON_COLUMNS_KEY = b"taiyi.json_columns"


def records_to_table(records: list[dict]):
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(records), []
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    columns = list(dict.fromkeys(k for r in records for k in r))
    arrays, json_cols = {}, []
    for col in columns:
        values = [r.get(col) for r in records]
        try:
            arrays[col] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arrays[col] = pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
            json_cols.append(col)
    return pa.table(arrays), json_cols


def write_parquet(records: list[dict], path: str | Path) -> int:
    """Write records to ``path`` atomically; returns the number of rows."""
    import pyarrow.parquet as pq

    table, json_cols = records_to_table(records)
    meta = dict(table.schema.metadata or {})
    meta[JSON_COLUMNS_KEY] = orjson.dumps(json_cols)
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows


def read_parquet(path: str | Path) -> list[dict]:
    """Records back from a file written by ``write_parquet`` (JSON-text columns decoded)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    json_cols = orjson.loads((table.schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
    rows = table.to_pylist()
    for r in rows:
        for c in json_cols:
            if r.get(c) is not None:
                r[c] = orjson.loads(r[c])
    return rows
