"""The instruction mix: which corpus datasets, splits and tasks feed training, how often, and in which stage.

Why: the builder should read a plan, not re-derive policy inline. The plan excludes every benchmark split
(and whole zero-shot datasets), keeps the config's task/stage choices, and turns sampling weights into a
per-record number of prompt draws; general-domain chat files become dialogue instructions.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from taiyi.files import DataError, read_json, read_jsonl
from taiyi.instructions.benchmarks import Benchmark, zero_shot_datasets
from taiyi.instructions.config import BuildConfig, ChatSource
from taiyi.instructions.tasks.base import Instruction
from taiyi.instructions.tasks.registry import task_names
from taiyi.text import cjk_count



@dataclass
class DatasetPlan:
    name: str
    dir: str
    info: dict
    tasks: list[str]
    splits: list[str]
    draws: float
    cap: int | None
    held_out: list[str] = field(default_factory=list)  # splits kept out because a benchmark scores them

    def files(self) -> list[Path]:
        return [Path(self.dir) / f"{s}.jsonl" for s in self.splits]


def plan_datasets(corpus_dir: str | Path, cfg: BuildConfig, benchmarks: dict[str, Benchmark]) -> tuple[list[DatasetPlan], dict[str, str]]:
    """The datasets that feed training, sorted by name, and {dataset: why skipped} for the rest."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise DataError(f"corpus directory {corpus_dir} does not exist (run `taiyi convert` first)")
    present = sorted(p.name for p in corpus_dir.iterdir() if (p / "meta.json").is_file())
    if cfg.datasets is not None:
        missing = [d for d in cfg.datasets if d not in present]
        if missing:
            raise DataError(f"config names dataset(s) {missing} not in corpus {corpus_dir} (present: {present})")
    held: dict[str, set[str]] = {}
    for b in benchmarks.values():
        for name in b.dataset_names:
            held.setdefault(name, set()).add(b.split)
    zero = zero_shot_datasets(benchmarks.values())
    stage_tasks = {t for ts in cfg.stages.values() for t in ts}
    plans, skipped = [], {}
    for name in present:
        if cfg.datasets is not None and name not in cfg.datasets:
            continue
        if name in cfg.exclude:
            skipped[name] = "excluded by config"
            continue
        if name in zero:
            skipped[name] = "zero-shot benchmark dataset (never trained on)"
            continue
        info = read_json(corpus_dir / name / "meta.json")
        tasks = [t for t in info.get("tasks", []) if t in task_names() and t in stage_tasks]
        if cfg.tasks is not None:
            tasks = [t for t in tasks if t in cfg.tasks]
        splits = [s for s in cfg.splits if s not in held.get(name, set()) and (corpus_dir / name / f"{s}.jsonl").is_file()]
        held_out = sorted(held.get(name, set()) & set(cfg.splits))
        if not tasks:
            skipped[name] = f"no configured task among its tasks {info.get('tasks', [])}"
            continue
        if not splits:
            skipped[name] = f"no training split (wanted {cfg.splits}; held out for evaluation: {held_out})"
            continue
        draws = cfg.draws(name)
        if draws <= 0:
            skipped[name] = "weight 0"
            continue
        if cfg.cap(name) == 0:
            skipped[name] = "cap 0"
            continue
        plans.append(DatasetPlan(name, str(corpus_dir / name), info, tasks, splits, draws, cfg.cap(name), held_out))
    return plans, skipped



def draw_count(rng: random.Random, draws: float) -> int:
    """An integer with expectation ``draws``: floor(draws) plus one more with probability frac(draws)."""
    whole = math.floor(draws)
    return whole + (1 if rng.random() < draws - whole else 0)


def guess_lang(text: str) -> str:
    sample = text[:2000]
    cjk = cjk_count(sample)
    latin = sum(c.isascii() and c.isalpha() for c in sample)
    if cjk and latin > 3 * cjk:
        return "zh-en" if cjk > 20 else "en"
    return "zh" if cjk > 0.1 * max(1, len(sample.strip())) else "en"


def read_general_chat(src: ChatSource) -> Iterator[Instruction]:
    """Dialogue instructions from a general-domain JSONL file of {"messages": [{role, content}, ...]}.

    A line without a well-formed conversation raises DataError naming the file and line.
    """
    path = Path(src.path)
    if not path.is_file():
        raise DataError(f"general chat file {path} does not exist")
    name = src.name or path.stem
    n = 0
    for line_no, obj in enumerate(read_jsonl(path), 1):
        if src.max is not None and n >= src.max:
            break
        msgs = obj.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise DataError(f"{path}: record {line_no}: expected a non-empty 'messages' list")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
                raise DataError(f"{path}: record {line_no}: message {i} must be {{role: system|user|assistant, content: str}}")
        if msgs[-1]["role"] != "assistant":
            raise DataError(f"{path}: record {line_no}: the last message must be the assistant's")
        rid = str(obj.get("id", line_no))
        text = " ".join(m["content"] for m in msgs)
        n += 1
        yield Instruction(
            id=f"{name}/{rid}", dataset=name, task="dialogue", lang=guess_lang(text), template_id="general_chat",
            messages=[{"role": m["role"], "content": m["content"]} for m in msgs], target=None,
            document_id=f"{name}:{rid}", meta={"general": True, "source": str(path)},
        )
