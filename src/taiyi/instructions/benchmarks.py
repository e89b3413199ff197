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
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taiyi.files import DataError, validation_message, write_jsonl
from taiyi.instructions.tasks.base import Instruction
from taiyi.instructions.tasks.registry import Task, get_task, task_names, with_facts

BENCHMARKS_FILE = Path(__file__).resolve().parent / "benchmarks.yaml"


class LabelName(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    en: str
    zh: str


class Benchmark(BaseModel):
    """One held-out evaluation set: which data, which task, which types, which metrics (names in the metric
    registry, ``taiyi.evaluate.metrics``; ``metric`` is the headline score, default the task's first metric)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    dataset: str = Field(min_length=1)
    split: str = Field(min_length=1)
    task: str
    lang: Literal["zh", "en"]
    metric: str | None = None
    metrics: tuple[str, ...] = ()
    paper_key: tuple[str, str] | None = None
    types: tuple[str, ...] | None = Field(default=None, min_length=1)
    type_map: dict[str, str] = Field(default_factory=dict)
    label_names: dict[str, LabelName] = Field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    multi_label: bool = False
    zero_shot: bool = False

    @field_validator("task")
    @classmethod
    def _registered(cls, v: str) -> str:
        if v not in task_names():
            raise ValueError(f"{v!r} is not a registered task; known: {list(task_names())}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Benchmark":
        if self.types is not None:
            outside = sorted(set(self.type_map.values()) - set(self.types))
            if outside:
                raise ValueError(f"type_map targets {outside} are not among types {list(self.types)}")
        if self.multi_label and self.task != "cls":
            raise ValueError("multi_label applies to task cls only")
        if self.metric is None and not get_task(self.task).metrics:
            raise ValueError(f"task {self.task!r} names no default metric: give metric")
        return self

    @property
    def task_def(self) -> Task:
        return get_task(self.task)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The headline metric first, then the others asked for (default: all of the task's metrics)."""
        main = self.metric or self.task_def.metrics[0]
        rest = self.metrics or self.task_def.metrics
        return (main, *(m for m in rest if m != main))

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


def parse_benchmarks(raw: Any, source: str = "benchmarks.yaml") -> dict[str, Benchmark]:
    """Schema-check a loaded benchmarks document; errors name the file, the entry and the field."""
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise DataError(f"{source}: expected a top-level 'benchmarks:' list")
    out: dict[str, Benchmark] = {}
    for i, entry in enumerate(raw["benchmarks"]):
        name = entry.get("name", "<no name>") if isinstance(entry, dict) else "<not a mapping>"
        try:
            b = Benchmark.model_validate(entry)
        except ValidationError as exc:
            raise DataError(validation_message(exc, f"{source}: benchmarks[{i}] ({name})")) from None
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
    return benchmark.task_def.restrict(copy.deepcopy(record), functools.partial(_map_type, benchmark))


def prepare_info(benchmark: Benchmark, info: dict) -> dict:
    """The dataset's meta.json as the codec should see it for this benchmark (asked types, their names)."""
    b, out = benchmark, copy.deepcopy(info)
    names = dict(out.get("label_names") or {})
    for raw, mapped in b.type_map.items():  # a collapsed type inherits a raw type's names unless given
        if mapped not in names and raw in names:
            names[mapped] = names[raw]
    names.update({t: n.model_dump() for t, n in b.label_names.items()})
    if b.types is not None:
        missing = [t for t in b.types if t not in names]
        if missing:
            raise DataError(f"benchmark {b.name}: no display names for types {missing} in meta.json or benchmarks.yaml")
    out["label_names"] = names
    out["benchmark"] = b.name
    out.setdefault("multi_label", False)
    return b.task_def.benchmark_info(out, list(b.types) if b.types is not None else None, b)


def eval_items(benchmark: Benchmark, records: Iterable[dict], info: dict, *, seed: int = 0,
               limit: int | None = None) -> list[Instruction]:
    """Evaluation instructions for ``records`` (one benchmark split) through the codec's ``mode="eval"``.

    Each record gets its own RNG seeded from (seed, benchmark, record id), so an item's id, template and
    prompt are the same on every run whatever the record order or ``limit``.
    """
    codec = benchmark.task_def
    records = (prepare_record(benchmark, r) for r in records)
    if type(codec).dataset_facts is not Task.dataset_facts:  # facts come from the whole split, whatever ``limit``
        records = list(records)
    binfo = with_facts(codec, prepare_info(benchmark, info), lambda: iter(records))
    items: list[Instruction] = []
    seen: set[str] = set()
    for n, record in enumerate(records):
        if limit is not None and n >= limit:
            break
        rid = record.get("id")
        if rid is None:
            raise DataError(f"benchmark {benchmark.name}: record #{n} of {benchmark.dataset}/{benchmark.split} has no id")
        rng = random.Random(f"{seed}:{benchmark.name}:{rid}")
        prepared = record  # already restricted to the benchmark's types above
        try:
            made = codec.examples(prepared, rng, binfo, mode="eval")
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
            inst.meta = {**inst.meta, "benchmark": benchmark.name, "record_id": rid, **gold_annotations(benchmark.task, prepared)}
            items.append(inst)
    return items


def gold_annotations(task: str, record: dict) -> dict:
    """What span- and concept-level metrics need beside the target (kb records only): the document ``text`` the
    offsets index; for ner the gold ``spans`` ``[type, start, end, mention]``; for re the entities' concept ids
    ``concepts`` ``[type, mention, [ids]]`` and the gold ``concept_relations`` ``[type, id1, id2]`` (where the
    corpus normalises entities, e.g. MeSH in BC5CDR)."""
    if record.get("schema") != "kb" or task not in ("ner", "re"):
        return {}
    from taiyi.corpus.schema import document_text
    from taiyi.instructions.tasks.ner import mention_text

    out: dict = {"text": document_text(record)}
    ents = record.get("entities", [])
    if task == "ner":
        out["spans"] = sorted([e["type"], e["offsets"][0][0], e["offsets"][-1][1], mention_text(e)]
                              for e in ents if e.get("offsets") and mention_text(e))
        return out
    ids = {e["id"]: sorted({str(n["db_id"]) for n in e.get("normalized") or [] if str(n.get("db_id", "-1")) not in ("", "-1")})
           for e in ents}
    if not any(ids.values()):
        return out
    out["concepts"] = sorted({(e["type"], mention_text(e), tuple(ids[e["id"]])) for e in ents if ids[e["id"]]})
    out["concepts"] = [[t, m, list(i)] for t, m, i in out["concepts"]]
    pairs = set()
    for r in record.get("relations", []):
        for a in ids.get(r["arg1_id"], []):
            for b in ids.get(r["arg2_id"], []):
                pairs.add((str(r["type"]), a, b))
    out["concept_relations"] = [list(p) for p in sorted(pairs)]
    return out


def eval_record(inst: Instruction, stage: str = "eval") -> dict:
    """One line of ``eval/<benchmark>.jsonl``: the instruction record plus its gold ``target``."""
    return inst.to_record(stage=stage, with_target=True)


def write_eval_file(path: str | Path, items: Iterable[Instruction]) -> int:
    """Write evaluation items atomically as JSONL (with ``target``); returns the count."""
    return write_jsonl(path, (eval_record(i) for i in items))
