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
  stages: {1: [tasks], 2: [tasks]} default: the paper's curriculum (STAGE1_TASKS, then all)
  general_chat: [{path, stage: 2, max: null, name: null}]   general-domain JSONL {"messages": [...]}
  max_tokens: 1024                 token budget of a whole conversation (quality filter)
  tokenizer: null                  path / hub id of the target tokenizer; null = fast char-based estimate
  dedup: {exact: true, near: true, threshold: 0.9, num_perm: 64, shingle: 5}
  decontaminate: {ngram_en: 13, ngram_zh: 50}
  eval_limit: null                 at most n items per benchmark file
  benchmarks: paper                the held-out sets: paper (benchmarks.yaml) | demo (demo_benchmarks.yaml) | a YAML path
  seed: 0
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from taiyi.files import DataError
from taiyi.instructions.tasks.base import TASKS

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# The paper's curriculum: stage 1 = extraction, classification, text pairs, translation, other;
# stage 2 = all of stage 1 plus QA and dialogue (AITIME-2024 slides, p.12).
STAGE1_TASKS = ("ner", "re", "ee", "cls", "pair", "mt", "title", "report")
STAGE2_TASKS = TASKS


@dataclass
class ChatSource:
    path: str
    stage: int = 2
    max: int | None = None
    name: str | None = None


@dataclass
class BuildConfig:
    datasets: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    tasks: list[str] | None = None
    splits: list[str] = field(default_factory=lambda: ["train"])
    prompts_per_record: int = 1
    weights: dict[str, float] = field(default_factory=dict)
    caps: dict[str, int] = field(default_factory=dict)
    stages: dict[int, list[str]] = field(default_factory=lambda: {1: list(STAGE1_TASKS), 2: list(STAGE2_TASKS)})
    general_chat: list[ChatSource] = field(default_factory=list)
    max_tokens: int = 1024
    tokenizer: str | None = None
    dedup: dict[str, Any] = field(default_factory=lambda: {"exact": True, "near": True, "threshold": 0.9, "num_perm": 64, "shingle": 5})
    decontaminate: dict[str, int] = field(default_factory=lambda: {"ngram_en": 13, "ngram_zh": 50})
    eval_limit: int | None = None
    benchmarks: str = "paper"
    seed: int = 0

    def cap(self, dataset: str) -> int | None:
        return self.caps.get(dataset, self.caps.get("default"))

    def draws(self, dataset: str) -> float:
        """Expected ``examples`` calls per record of ``dataset`` (prompts_per_record x weight)."""
        return self.prompts_per_record * float(self.weights.get(dataset, 1.0))

    def stages_of(self, task: str) -> list[int]:
        return [s for s, tasks in sorted(self.stages.items()) if task in tasks]

    def to_dict(self) -> dict:
        return asdict(self)


_KEYS = set(BuildConfig.__dataclass_fields__)


def _fail(where: str, msg: str):
    raise DataError(f"{where}: {msg}")


def parse_config(raw: Any, where: str = "config") -> BuildConfig:
    """Check a loaded YAML mapping and make a BuildConfig; errors name the file and the key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        _fail(where, f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        _fail(where, f"unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    cfg = BuildConfig()
    for key in ("datasets", "tasks"):
        v = raw.get(key)
        if v is None or v == "all":
            setattr(cfg, key, None)
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            setattr(cfg, key, list(v))
        else:
            _fail(where, f"{key} must be 'all' or a list of names, got {v!r}")
    if cfg.tasks:
        bad = [t for t in cfg.tasks if t not in TASKS]
        if bad:
            _fail(where, f"tasks {bad} are not codecs; known: {list(TASKS)}")
    for key in ("exclude", "splits"):
        if key in raw:
            v = raw[key]
            if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                _fail(where, f"{key} must be a list of names, got {v!r}")
            setattr(cfg, key, list(v))
    for key in ("prompts_per_record", "max_tokens", "seed"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if key == "seed" else 1):
                _fail(where, f"{key} must be a positive integer, got {v!r}")
            setattr(cfg, key, v)
    if raw.get("eval_limit") is not None:
        if not isinstance(raw["eval_limit"], int) or raw["eval_limit"] < 1:
            _fail(where, f"eval_limit must be a positive integer or null, got {raw['eval_limit']!r}")
        cfg.eval_limit = raw["eval_limit"]
    if "benchmarks" in raw:
        if not isinstance(raw["benchmarks"], str) or not raw["benchmarks"]:
            _fail(where, f"benchmarks must be 'paper', 'demo' or a YAML path, got {raw['benchmarks']!r}")
        cfg.benchmarks = raw["benchmarks"]
    weights = raw.get("weights") or {}
    if not isinstance(weights, dict) or not all(isinstance(w, (int, float)) and w >= 0 for w in weights.values()):
        _fail(where, f"weights must map dataset -> non-negative number, got {weights!r}")
    cfg.weights = {str(k): float(v) for k, v in weights.items()}
    caps = raw.get("caps") or {}
    if not isinstance(caps, dict) or not all(isinstance(c, int) and c >= 0 for c in caps.values()):
        _fail(where, f"caps must map dataset -> non-negative integer, got {caps!r}")
    cfg.caps = {str(k): int(v) for k, v in caps.items()}
    if "stages" in raw:
        st = raw["stages"]
        if not isinstance(st, dict) or not st:
            _fail(where, "stages must map stage number -> list of tasks")
        stages = {}
        for k, tasks in st.items():
            try:
                n = int(k)
            except (TypeError, ValueError):
                _fail(where, f"stage {k!r} is not a number")
            if tasks == "all":
                tasks = list(TASKS)
            if not isinstance(tasks, list) or any(t not in TASKS for t in tasks):
                _fail(where, f"stages[{k}] must be 'all' or a list of codec names from {list(TASKS)}, got {tasks!r}")
            stages[n] = list(tasks)
        cfg.stages = stages
    chats = raw.get("general_chat") or []
    if not isinstance(chats, list):
        _fail(where, "general_chat must be a list of {path, stage, max, name}")
    for i, c in enumerate(chats):
        if isinstance(c, str):
            c = {"path": c}
        if not isinstance(c, dict) or "path" not in c or set(c) - {"path", "stage", "max", "name"}:
            _fail(where, f"general_chat[{i}] must be a path or {{path, stage, max, name}}, got {c!r}")
        src = ChatSource(path=str(c["path"]), stage=int(c.get("stage", 2)), max=c.get("max"), name=c.get("name"))
        if src.stage not in cfg.stages:
            _fail(where, f"general_chat[{i}] stage {src.stage} is not one of the stages {sorted(cfg.stages)}")
        cfg.general_chat.append(src)
    if raw.get("tokenizer") is not None:
        cfg.tokenizer = str(raw["tokenizer"])
    for key in ("dedup", "decontaminate"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, dict):
                _fail(where, f"{key} must be a mapping")
            extra = set(v) - set(getattr(cfg, key))
            if extra:
                _fail(where, f"{key}: unknown key(s) {sorted(extra)}; known: {sorted(getattr(cfg, key))}")
            getattr(cfg, key).update(v)
    if not 0 < float(cfg.dedup["threshold"]) <= 1:
        _fail(where, f"dedup.threshold must be in (0, 1], got {cfg.dedup['threshold']!r}")
    return cfg


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
