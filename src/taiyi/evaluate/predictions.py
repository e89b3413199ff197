"""Answers made elsewhere: the prompts to answer (``--export-items``) and a file of answers to score (``--predictions``).

Why: another toolkit, an API batch job or a paper's released outputs can be scored with exactly our items and
metrics without running a model here. The formats (docs/evaluation.md):

- export: ``<dir>/<benchmark>.jsonl``, one line per item: ``{"benchmark", "id", "task", "lang", "messages",
  "choices", "max_new_tokens"}`` (``messages``: the conversation to answer, without the gold turn; ``choices`` for
  multiple choice only). Nothing gold is written.
- predictions: one JSONL file, one line per answered item: ``{"benchmark": ..., "id": ..., "answer": "..."}``
  (``answer`` may be null: no answer). An item of a scored benchmark without a line is a failure (counted in
  ``missing``), never dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from taiyi.evaluate.items import prompt_of
from taiyi.files import DataError, read_jsonl_numbered, write_jsonl
from taiyi.instructions.benchmarks import Benchmark
from taiyi.instructions.tasks.base import Instruction

FIELDS = ("benchmark", "id", "answer")


def read_predictions(path: str | Path, known: Iterable[str] | None = None) -> dict[str, dict[str, str | None]]:
    """``{benchmark: {item id: answer}}`` from a predictions file; a malformed line, a missing or mistyped field,
    an unknown benchmark (when ``known`` is given) or a repeated id is a DataError naming ``file:line``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: predictions file not found")
    known = set(known) if known is not None else None
    out: dict[str, dict[str, str | None]] = {}
    for n, row in read_jsonl_numbered(path):
        where = f"{path}:{n}"
        missing = [k for k in FIELDS if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {missing}; each line is {{\"benchmark\", \"id\", \"answer\"}}")
        b, i, a = row["benchmark"], row["id"], row["answer"]
        if not isinstance(b, str) or not isinstance(i, str) or not (a is None or isinstance(a, str)):
            raise DataError(f"{where}: 'benchmark' and 'id' must be strings and 'answer' a string or null")
        if known is not None and b not in known:
            raise DataError(f"{where}: unknown benchmark {b!r}; known: {', '.join(sorted(known))}")
        rows = out.setdefault(b, {})
        if i in rows:
            raise DataError(f"{where}: id {i!r} of {b} appears twice")
        rows[i] = a
    return out


def answers_for(items: Sequence[Instruction], given: dict[str, str | None], source: str) -> tuple[dict, dict, dict]:
    """(answers, errors, counts) of one benchmark's items from its predictions: an item without a line gets no
    answer and the error ``missing from <file>``; ``counts`` has ``missing`` and ``extra`` (ids not scored)."""
    ids = {it.id for it in items}
    answers = {it.id: given.get(it.id) for it in items}
    errors = {it.id: f"missing from {source}" for it in items if it.id not in given}
    return answers, errors, {"missing": len(errors), "extra": sum(1 for i in given if i not in ids)}


def export_record(bench: Benchmark, item: Instruction) -> dict:
    rec = {"benchmark": bench.name, "id": item.id, "task": item.task, "lang": item.lang, "messages": prompt_of(item)}
    if item.meta.get("choices"):
        rec["choices"] = list(item.meta["choices"])
    rec["max_new_tokens"] = bench.task_def.max_new_tokens
    return rec


def export_items(bench: Benchmark, items: Sequence[Instruction], out_dir: str | Path) -> Path:
    """Write ``<out_dir>/<benchmark>.jsonl``: the prompts to answer (atomically); returns the path."""
    path = Path(out_dir) / f"{bench.name}.jsonl"
    write_jsonl(path, (export_record(bench, it) for it in items))
    return path
