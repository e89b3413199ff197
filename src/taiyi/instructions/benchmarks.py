"""The held-out evaluation sets (the paper's 13 + BioRED zero-shot) as data, and their evaluation items.

Why: the builder (to write ``instructions/eval/<name>.jsonl`` and to decontaminate training data) and the
evaluator (to score and to print the paper's numbers beside ours) must agree on exactly which dataset, split,
types and metric each benchmark means. ``benchmarks.yaml`` says it once; this module loads and checks it and
turns corpus records into evaluation instructions through the task codecs (``mode="eval"``).
"""

from __future__ import annotations

import copy
import functools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from taiyi.files import DataError, read_jsonl, write_jsonl
from taiyi.instructions.tasks import base as tasks_base
from taiyi.instructions.tasks.base import TASKS, Instruction

BENCHMARKS_FILE = Path(__file__).resolve().parent / "benchmarks.yaml"
METRICS = ("micro_f1", "accuracy")
LANGS = ("zh", "en")
_FIELDS = {
    "name", "dataset", "aliases", "split", "task", "types", "type_map", "label_names", "metric", "lang",
    "paper_key", "multi_label", "zero_shot",
}


@dataclass(frozen=True)
class Benchmark:
    name: str
    dataset: str
    split: str
    task: str
    metric: str
    lang: str
    paper_key: tuple[str, str]
    types: tuple[str, ...] | None = None
    type_map: dict[str, str] = field(default_factory=dict)
    label_names: dict[str, dict] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    multi_label: bool = False
    zero_shot: bool = False

    @property
    def dataset_names(self) -> tuple[str, ...]:
        """The catalog names this benchmark's data may have in a corpus, preferred first."""
        return (self.dataset, *self.aliases)

    def find_dataset(self, corpus_dir: str | Path) -> Path | None:
        """``corpus/<dataset>`` holding this benchmark's split, or None when the corpus lacks it."""
        for name in self.dataset_names:
            d = Path(corpus_dir) / name
            if (d / f"{self.split}.jsonl").is_file():
                return d
        return None


def _check(entry: Any, where: str) -> Benchmark:
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected a mapping, got {type(entry).__name__}")
    name = entry.get("name", "<no name>")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise DataError(f"{where} ({name}): unknown field(s) {sorted(unknown)}")
    for key in ("name", "dataset", "split", "task", "metric", "lang", "paper_key"):
        if not entry.get(key):
            raise DataError(f"{where} ({name}): missing {key!r}")
    if entry["task"] not in TASKS:
        raise DataError(f"{where} ({name}): task {entry['task']!r} is not a codec; known: {TASKS}")
    if entry["metric"] not in METRICS:
        raise DataError(f"{where} ({name}): metric {entry['metric']!r} not in {METRICS}")
    if entry["lang"] not in LANGS:
        raise DataError(f"{where} ({name}): lang {entry['lang']!r} not in {LANGS}")
    key = entry["paper_key"]
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise DataError(f"{where} ({name}): paper_key must be [task, dataset], got {key!r}")
    types = entry.get("types")
    if types is not None and not (isinstance(types, list) and types and all(isinstance(t, str) for t in types)):
        raise DataError(f"{where} ({name}): types must be a non-empty list of strings or null")
    type_map = entry.get("type_map") or {}
    if not isinstance(type_map, dict):
        raise DataError(f"{where} ({name}): type_map must be a mapping raw type -> type")
    if types is not None:
        outside = sorted(set(type_map.values()) - set(types))
        if outside:
            raise DataError(f"{where} ({name}): type_map targets {outside} are not among types {types}")
    label_names = entry.get("label_names") or {}
    for t, names in label_names.items():
        if not (isinstance(names, dict) and {"en", "zh"} <= set(names)):
            raise DataError(f"{where} ({name}): label_names[{t!r}] needs 'en' and 'zh'")
    return Benchmark(
        name=entry["name"], dataset=entry["dataset"], split=entry["split"], task=entry["task"],
        metric=entry["metric"], lang=entry["lang"], paper_key=(key[0], key[1]),
        types=tuple(types) if types is not None else None, type_map=dict(type_map), label_names=dict(label_names),
        aliases=tuple(entry.get("aliases") or ()), multi_label=bool(entry.get("multi_label", False)),
        zero_shot=bool(entry.get("zero_shot", False)),
    )


def parse_benchmarks(raw: Any, source: str = "benchmarks.yaml") -> dict[str, Benchmark]:
    """Schema-check a loaded benchmarks document; errors name the file, the entry and the field."""
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise DataError(f"{source}: expected a top-level 'benchmarks:' list")
    out: dict[str, Benchmark] = {}
    for i, entry in enumerate(raw["benchmarks"]):
        b = _check(entry, f"{source}: benchmarks[{i}]")
        if b.name in out:
            raise DataError(f"{source}: benchmarks[{i}]: duplicate name {b.name!r}")
        out[b.name] = b
    return out


@functools.cache
def _load(path: str) -> dict[str, Benchmark]:
    return parse_benchmarks(yaml.safe_load(Path(path).read_text(encoding="utf-8")), source=path)


# Packaged benchmark sets by short name: the paper's held-out sets and the demo's (the mini corpus test splits).
BENCHMARK_SETS = {"paper": BENCHMARKS_FILE, "demo": BENCHMARKS_FILE.with_name("demo_benchmarks.yaml")}


def benchmarks_path(which: str | Path | None = None) -> Path:
    """``paper`` | ``demo`` | a YAML path -> the file."""
    if which is None:
        return BENCHMARKS_FILE
    if str(which) in BENCHMARK_SETS:
        return BENCHMARK_SETS[str(which)]
    path = Path(which)
    if not path.is_file():
        raise DataError(f"benchmarks file {path} not found (or use one of {sorted(BENCHMARK_SETS)})")
    return path


def load_benchmarks(path: str | Path | None = None) -> dict[str, Benchmark]:
    """All benchmarks by name, in file order (schema-checked); ``path`` may be a packaged set name."""
    return dict(_load(str(benchmarks_path(path))))


def zero_shot_datasets(benchmarks: Iterable[Benchmark] | None = None) -> set[str]:
    """Every catalog name of a zero-shot benchmark's dataset: excluded from training entirely."""
    bs = load_benchmarks().values() if benchmarks is None else benchmarks
    return {n for b in bs if b.zero_shot for n in b.dataset_names}


def _map_type(b: Benchmark, t: str) -> str | None:
    """The benchmark type of raw type ``t``, or None when the benchmark does not ask for it."""
    mapped = b.type_map.get(t, t)
    if b.types is not None and mapped not in b.types:
        return None
    return mapped


def prepare_record(benchmark: Benchmark, record: dict) -> dict:
    """A copy of ``record`` restricted to the benchmark's types, with collapsed types renamed (type_map)."""
    b, rec = benchmark, copy.deepcopy(record)
    if b.task == "ner" and rec.get("schema") == "kb":
        kept = []
        for e in rec.get("entities", []):
            t = _map_type(b, e["type"])
            if t is not None:
                e["type"] = t
                kept.append(e)
        ids = {e["id"] for e in kept} | {ev["id"] for ev in rec.get("events", [])}
        rec["entities"] = kept
        rec["relations"] = [r for r in rec.get("relations", []) if r["arg1_id"] in ids and r["arg2_id"] in ids]
        rec["coreferences"] = [
            {**c, "entity_ids": [i for i in c["entity_ids"] if i in ids]} for c in rec.get("coreferences", [])
        ]
    elif b.task == "re" and rec.get("schema") == "kb":
        kept = []
        for r in rec.get("relations", []):
            t = _map_type(b, r["type"])
            if t is not None:
                r["type"] = t
                kept.append(r)
        rec["relations"] = kept
    elif b.task == "cls" and rec.get("schema") == "text":
        labels = [_map_type(b, lab) for lab in rec.get("labels", [])]
        rec["labels"] = sorted({lab for lab in labels if lab is not None})
    return rec


def prepare_info(benchmark: Benchmark, info: dict) -> dict:
    """The dataset's meta.json as the codec should see it for this benchmark (asked types, their names)."""
    b, out = benchmark, copy.deepcopy(info)
    names = dict(out.get("label_names") or {})
    for raw, mapped in b.type_map.items():  # a collapsed type inherits a raw type's names unless given
        if mapped not in names and raw in names:
            names[mapped] = names[raw]
    names.update(b.label_names)
    if b.types is not None:
        missing = [t for t in b.types if t not in names]
        if missing:
            raise DataError(f"benchmark {b.name}: no display names for types {missing} in meta.json or benchmarks.yaml")
        if b.task in ("ner", "cls"):  # codecs ask for the types/labels named in label_names
            names = {t: names[t] for t in b.types}
    out["label_names"] = names
    out["benchmark"] = b.name
    out["multi_label"] = b.multi_label if b.task == "cls" else out.get("multi_label", False)
    if b.types is not None:
        out[{"ner": "entity_types", "re": "relation_types", "cls": "labels"}.get(b.task, "types")] = list(b.types)
    return out


def eval_items(benchmark: Benchmark, records: Iterable[dict], info: dict, *, seed: int = 0,
               limit: int | None = None) -> list[Instruction]:
    """Evaluation instructions for ``records`` (one benchmark split) through the codec's ``mode="eval"``.

    Each record gets its own RNG seeded from (seed, benchmark, record id), so an item's id, template and
    prompt are the same on every run whatever the record order or ``limit``.
    """
    codec = tasks_base.get_codec(benchmark.task)
    binfo = prepare_info(benchmark, info)
    items: list[Instruction] = []
    seen: set[str] = set()
    for n, record in enumerate(records):
        if limit is not None and n >= limit:
            break
        rid = record.get("id")
        if rid is None:
            raise DataError(f"benchmark {benchmark.name}: record #{n} of {benchmark.dataset}/{benchmark.split} has no id")
        rng = random.Random(f"{seed}:{benchmark.name}:{rid}")
        try:
            made = codec.examples(prepare_record(benchmark, record), rng, binfo, mode="eval")
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"benchmark {benchmark.name}: record {rid}: {benchmark.task} codec failed: {exc!r}") from exc
        for inst in made:
            iid = f"{benchmark.name}:{inst.id}"
            k = 1
            while iid in seen:
                k += 1
                iid = f"{benchmark.name}:{inst.id}#{k}"
            seen.add(iid)
            inst.id = iid
            inst.meta = {**inst.meta, "benchmark": benchmark.name, "record_id": rid}
            items.append(inst)
    return items


def eval_records(benchmark: Benchmark, corpus_dir: str | Path) -> Iterator[dict]:
    """The corpus records of the benchmark's split (nothing when the corpus lacks the dataset)."""
    d = benchmark.find_dataset(corpus_dir)
    if d is None:
        return iter(())
    return read_jsonl(d / f"{benchmark.split}.jsonl")


def eval_record(inst: Instruction, stage: str = "eval") -> dict:
    """One line of ``eval/<benchmark>.jsonl``: the instruction record plus its gold ``target``."""
    return inst.to_record(stage=stage, with_target=True)


def write_eval_file(path: str | Path, items: Iterable[Instruction]) -> int:
    """Write evaluation items atomically as JSONL (with ``target``); returns the count."""
    return write_jsonl(path, (eval_record(i) for i in items))
