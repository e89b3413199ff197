"""The build configuration (YAML): which datasets and tasks, how much of each, which stage gets what.

Why: the instruction mix is the experiment. Keeping it in one checked file (recorded in the manifest) makes a
build reproducible and lets a typo fail loudly instead of silently building a different mix.

Keys (all optional):
  datasets: all | [names]          corpus datasets to use (default all present)
  exclude: [names]                 never used for training (zero-shot benchmark datasets are always excluded)
  tasks: all | [codec names]       tasks to build (default: each dataset's meta.json ``tasks``)
  splits: [train]                  corpus splits that feed training (benchmark splits never do)
  prompts_per_record: 1            codec ``examples`` draws per record (each with its own template)
  weights: {dataset: w}            scales prompts_per_record for a dataset (0.5 keeps about half the records)
  caps: {dataset: n, default: n}   at most n training instructions per dataset
  stages: {1: [tasks], 2: [tasks]} default: each task's registered ``stage`` (the paper's curriculum)
  general_chat: [{path, stage: 2, max: null, name: null}]   general-domain JSONL {"messages": [...]}
  max_tokens: 1024                 token budget of a whole conversation (quality filter)
  window_tokens: null              long kb documents cut into sentence windows of this many tokens (null: max_tokens/2; 0: off)
  tokenizer: null                  path / hub id of the target tokenizer; null = fast char-based estimate
  dedup: {exact: true, near: true, threshold: 0.9, num_perm: 64, shingle: 5}
  decontaminate: {ngram_en: 13, ngram_zh: 50}
  eval_limit: null                 at most n items per benchmark file
  benchmarks: paper                the held-out sets: paper (benchmarks.yaml) | demo (demo_benchmarks.yaml) | a YAML path
  seed: 0
  epoch_mix: {2: {by: dataset, weights: {}, caps: {}, epochs: 3}}   per-epoch weights/caps, resampled each
                                   epoch at training time (instructions.epoch_mix); written as stage<N>.mix.json
  shard_records: null              write stage<N>-00000-of-000NN.jsonl shards of this many records (null: one file)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taiyi.files import DataError, validation_message
from taiyi.instructions.epoch_mix import EpochMix, non_negative
from taiyi.instructions.tasks.registry import stage_tasks, task_names

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ChatSource(_Strict):
    path: str
    stage: int = 2
    max: int | None = Field(default=None, ge=0)
    name: str | None = None


class Dedup(_Strict):
    exact: bool = True
    near: bool = True
    threshold: float = Field(default=0.9, gt=0, le=1)
    num_perm: int = Field(default=64, ge=1)
    shingle: int = Field(default=5, ge=1)


class Decontaminate(_Strict):
    ngram_en: int = Field(default=13, ge=1)
    ngram_zh: int = Field(default=50, ge=1)


def _tasks(v: Any, what: str) -> list[str] | None:
    if v is None or v == "all":
        return None
    known = task_names()
    bad = [t for t in v if t not in known]
    if bad:
        raise ValueError(f"{what} {bad} are not registered tasks; known: {list(known)}")
    return list(v)


def _default_stages() -> dict[int, list[str]]:
    return {1: stage_tasks(1), 2: stage_tasks(2)}


class BuildConfig(_Strict):
    datasets: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)
    tasks: list[str] | None = None
    splits: list[str] = Field(default_factory=lambda: ["train"])
    prompts_per_record: int = Field(default=1, ge=1)
    weights: dict[str, float] = Field(default_factory=dict)
    caps: dict[str, int] = Field(default_factory=dict)
    stages: dict[int, list[str]] = Field(default_factory=_default_stages, min_length=1)
    general_chat: list[ChatSource] = Field(default_factory=list)
    max_tokens: int = Field(default=1024, ge=1)
    # kb documents of window_long_documents tasks whose text is over this many (estimated) tokens are cut into
    # windows of whole sentences (instructions/windows.py); None: half of max_tokens; 0: never cut
    window_tokens: int | None = Field(default=None, ge=0)
    tokenizer: str | None = None
    dedup: dict[str, Any] = Field(default_factory=lambda: Dedup().model_dump())
    decontaminate: dict[str, int] = Field(default_factory=lambda: Decontaminate().model_dump())
    eval_limit: int | None = Field(default=None, ge=1)
    benchmarks: str = Field(default="paper", min_length=1)
    seed: int = Field(default=0, ge=0)
    epoch_mix: dict[int, EpochMix] = Field(default_factory=dict)
    shard_records: int | None = Field(default=None, ge=1)

    @field_validator("datasets", mode="before")
    @classmethod
    def _all_datasets(cls, v: Any) -> Any:
        return None if v == "all" else v

    @field_validator("tasks", mode="before")
    @classmethod
    def _known_tasks(cls, v: Any) -> Any:
        return _tasks(v, "tasks") if v is None or v == "all" or isinstance(v, list) else v

    @field_validator("weights", "caps")
    @classmethod
    def _non_negative(cls, v: dict) -> dict:
        return non_negative(v)

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for k, tasks in v.items():
            if tasks == "all":
                tasks = list(task_names())
            out[k] = _tasks(tasks, f"stages[{k}]") if isinstance(tasks, list) else tasks
        return out

    @field_validator("general_chat", mode="before")
    @classmethod
    def _chat_paths(cls, v: Any) -> Any:
        return [{"path": c} if isinstance(c, str) else c for c in v] if isinstance(v, list) else v

    @field_validator("dedup", mode="before")
    @classmethod
    def _dedup(cls, v: Any) -> Any:
        return Dedup(**v).model_dump() if isinstance(v, dict) else v

    @field_validator("decontaminate", mode="before")
    @classmethod
    def _decontaminate(cls, v: Any) -> Any:
        return Decontaminate(**v).model_dump() if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _chat_stages(self) -> "BuildConfig":
        for i, c in enumerate(self.general_chat):
            if c.stage not in self.stages:
                raise ValueError(f"general_chat[{i}] stage {c.stage} is not one of the stages {sorted(self.stages)}")
        return self

    def cap(self, dataset: str) -> int | None:
        return self.caps.get(dataset, self.caps.get("default"))

    def draws(self, dataset: str) -> float:
        """Expected ``examples`` calls per record of ``dataset`` (prompts_per_record x weight)."""
        return self.prompts_per_record * float(self.weights.get(dataset, 1.0))

    def stages_of(self, task: str) -> list[int]:
        return [s for s, tasks in sorted(self.stages.items()) if task in tasks]

    def to_dict(self) -> dict:
        return self.model_dump()


def parse_config(raw: Any, where: str = "config") -> BuildConfig:
    """Check a loaded YAML mapping and make a BuildConfig; errors name the file and the key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping, got {type(raw).__name__}")
    try:
        return BuildConfig(**raw)
    except ValidationError as exc:
        raise DataError(validation_message(exc, where)) from None


def load_config(path: str | Path | None = None, **overrides: Any) -> BuildConfig:
    """Load a build config: a file path, or the name of a packaged config ("paper", "demo"); None = defaults.

    ``overrides`` (e.g. seed=1, tokenizer=...) replace keys of the file when not None.
    """
    raw: dict = {}
    where = "config"
    if path is not None:
        p = Path(path)
        if not p.is_file() and (CONFIG_DIR / f"{path}.yaml").is_file():
            p = CONFIG_DIR / f"{path}.yaml"
        if not p.is_file():
            raise DataError(f"build config {path}: no such file (packaged configs: "
                            f"{sorted(x.stem for x in CONFIG_DIR.glob('*.yaml'))})")
        where = str(p)
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DataError(f"{p}: malformed YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise DataError(f"{p}: expected a mapping at the top level")
        base = p.parent
        for c in raw.get("general_chat") or []:  # chat paths are relative to the config file
            if isinstance(c, dict) and "path" in c and not Path(c["path"]).is_absolute() and (base / c["path"]).exists():
                c["path"] = str(base / c["path"])
    raw = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    return parse_config(raw, where)
