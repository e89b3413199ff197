"""Evaluation items: a benchmark's instructions from a prebuilt eval file or straight from the raw data, and the
oracle's self-check answers.

Why: the runner must not care where items come from; both sources give the same ``Instruction`` objects (the
builder writes them through the same task code), keyed so that cached answers stay valid across runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from taiyi.files import DataError, dumps, read_jsonl
from taiyi.instructions.benchmarks import Benchmark
from taiyi.instructions.tasks.base import Instruction, load_templates
from taiyi.instructions.tasks.registry import get_task

INSTRUCTION_FIELDS = ("id", "dataset", "task", "lang", "template_id", "messages", "target", "document_id", "meta")


class BenchmarkUnavailable(RuntimeError):
    """The benchmark's data is not where we were told to look (it is skipped, with this reason)."""


def _instruction(rec: dict, where: str) -> Instruction:
    missing = [k for k in INSTRUCTION_FIELDS if k not in rec and k != "meta"]
    if missing:
        raise DataError(f"{where}: missing field(s) {missing}")
    return Instruction(**{k: rec.get(k, {}) if k == "meta" else rec[k] for k in INSTRUCTION_FIELDS})


def read_eval_file(path: Path, limit: int | None = None) -> list[Instruction]:
    """Items of a prebuilt ``instructions/eval/<benchmark>.jsonl`` (first ``limit`` documents)."""
    items: list[Instruction] = []
    docs: set[str] = set()
    for n, rec in enumerate(read_jsonl(path), 1):
        item = _instruction(rec, f"{path}: item {rec.get('id', f'#{n}')}")
        if limit is not None and item.document_id not in docs and len(docs) >= limit:
            break
        docs.add(item.document_id)
        items.append(item)
    return items


def read_benchmark_data(bench: Benchmark, data_root: Path, limit: int | None = None, seed: int = 0,
                        datasets: dict | None = None) -> list[Instruction]:
    """Items built from the raw dataset files under ``data_root`` through the catalog and the codec.

    ``datasets`` memoises read datasets within one run (BC5CDR serves three benchmarks).
    """
    from taiyi.instructions.benchmarks import eval_items
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    entries = []
    for name in bench.dataset_names:
        try:
            entries.append(get_entry(name))
        except KeyError:
            continue
    # the first catalog name whose reader is supported (else the first known, whose error is then reported)
    entry = next((e for e in entries if e.data.get("status", "supported") == "supported"), entries[0] if entries else None)
    if entry is None:
        raise BenchmarkUnavailable(f"none of {list(bench.dataset_names)} is in the dataset catalog")
    folder = Path(data_root) / entry.path
    if not folder.is_dir():
        raise BenchmarkUnavailable(f"{folder} does not exist (dataset {entry.name} not under --data-root)")
    key = (entry.name, str(data_root))
    datasets = {} if datasets is None else datasets
    if key not in datasets:
        try:
            datasets[key] = convert.read_dataset(entry.name, data_root)
        except (FileNotFoundError, getattr(convert, "NotSupportedError", FileNotFoundError)) as exc:
            raise BenchmarkUnavailable(f"dataset {entry.name}: {exc}") from None
    splits = datasets[key]
    if not splits.get(bench.split):
        raise BenchmarkUnavailable(f"dataset {entry.name} under {folder} has no {bench.split!r} split")
    info = dict(getattr(entry, "data", entry))
    return eval_items(bench, splits[bench.split], info, seed=seed, limit=limit)


def load_items(bench: Benchmark, *, data_root: Path | None = None, eval_dir: Path | None = None,
               limit: int | None = None, seed: int = 0, datasets: dict | None = None) -> list[Instruction]:
    """A benchmark's items: the prebuilt eval file when ``eval_dir`` has it, else the raw data under ``data_root``."""
    if eval_dir is not None and (Path(eval_dir) / f"{bench.name}.jsonl").is_file():
        return read_eval_file(Path(eval_dir) / f"{bench.name}.jsonl", limit)
    if data_root is None:
        where = f"{eval_dir}/{bench.name}.jsonl does not exist and " if eval_dir else ""
        raise BenchmarkUnavailable(f"{where}no --data-root was given")
    return read_benchmark_data(bench, Path(data_root), limit, seed, datasets)


def prompt_of(item: Instruction) -> list[dict]:
    """The conversation to answer: the item's messages without the gold assistant turn."""
    msgs = list(item.messages)
    while msgs and msgs[-1].get("role") == "assistant":
        msgs.pop()
    if not msgs:
        raise DataError(f"item {item.id}: no user message to answer")
    return msgs


def source_text(item: Instruction) -> str:
    """The text mentions are grounded in: ``meta['text']`` when the codec kept it, else the user prompt."""
    text = item.meta.get("text") if isinstance(item.meta, dict) else None
    return text if isinstance(text, str) else "\n".join(m["content"] for m in prompt_of(item))


def prompt_key(item: Instruction) -> str:
    return hashlib.sha256(dumps(prompt_of(item))).hexdigest()[:16]


def n_phrasings(task: str, lang: str) -> int:
    answers = load_templates(task, lang).answers
    return len(answers) if isinstance(answers, (list, tuple, dict)) and answers else 1


def oracle_items(items: Sequence[Instruction]) -> tuple[list[Instruction], dict[str, str]]:
    """Each item once per answer phrasing, with the gold target rendered in that phrasing as the 'answer'."""
    out, answers = [], {}
    for item in items:
        task = get_task(item.task)
        for k in range(n_phrasings(item.task, item.lang)):
            clone = Instruction(**{f: getattr(item, f) for f in INSTRUCTION_FIELDS})
            clone.id = f"{item.id}@answer{k}"
            clone.document_id = f"{item.document_id}@answer{k}"
            clone.template_id = f"{item.template_id}/answer{k}"
            answers[clone.id] = task.render(item.target, item.meta, k)
            out.append(clone)
    return out, answers
