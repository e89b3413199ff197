"""The training recipe: a YAML file validated by pydantic models before anything expensive starts.

Why: the paper's method is two-stage (Q)LoRA instruction tuning (design §5); a recipe names every
hyperparameter once. A bad value (``epochs: -1``, ``learning_rate: abc``, an unknown key, a chat format no
family has) must stop the run up front with one line naming the file, the field and what is allowed — not
after the model is loaded, and never by training nothing and writing an "untrained" model. Running a recipe
is ``taiyi.train.trainer``; loading models is ``taiyi.train.loader``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taiyi.files import DataError
from taiyi.instructions.epoch_mix import EpochMix

STAGES = ("stage1", "stage2")
SCHEDULERS = ("constant_with_warmup", "constant", "linear", "cosine", "cosine_with_restarts", "polynomial",
              "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraSpec(_Strict):
    r: int = Field(64, ge=1)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: Union[str, list[str]] = "all-linear"  # every linear layer except lm_head (PEFT's rule)
    modules_to_save: list[str] | None = None


class StageSpec(_Strict):
    data: str = ""
    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1  # > 0 caps the stage (tests, smoke runs); -1: run the epochs
    learning_rate: float | None = Field(None, gt=0)  # None: the recipe's
    mix: EpochMix | None = None  # weights/caps per dataset or task, resampled each epoch (instructions.epoch_mix)

    @field_validator("max_steps")
    @classmethod
    def _steps(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (run the epochs) or a positive number of steps")
        return v


class TinyModelSpec(_Strict):
    """Build a random-initialised small chat model + tokenizer trained on the stage data (demo / CI)."""

    size: Literal["tiny", "small", "demo"] = "demo"
    vocab_size: int = Field(4096, ge=300)
    seed: int = 0
    family: str | None = None  # a chat family (llama3, glm4, ...); None: Qwen2 with ChatML

    @field_validator("family")
    @classmethod
    def _family(cls, v):
        from taiyi.train.tiny_model import FAMILY_TOKENS

        if v is not None and v not in FAMILY_TOKENS:
            raise ValueError(f"no tiny model for family {v!r}; allowed: {sorted(FAMILY_TOKENS)}")
        return v


def _default_stages() -> dict:
    return {"stage1": StageSpec(data="instructions/stage1.jsonl", epochs=5),
            "stage2": StageSpec(data="instructions/stage2.jsonl", epochs=3)}


class Recipe(_Strict):
    name: str = Field("taiyi", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    output_dir: str = "runs"
    base_model: str = ""
    tiny_model: TinyModelSpec | None = None
    chat_format: str = "auto"  # auto (the tokenizer's template decides) | a chat family | eod (Taiyi-1 layout)
    thinking: bool = False  # train reasoning blocks (families that have them); default: trained without
    max_length: int = Field(1024, ge=16)
    num_proc: int = Field(1, ge=1)  # processes that tokenize a stage into its token cache
    token_cache: str | None = None  # folder of the token caches; None: <output_dir>/token-cache
    packing: bool = True
    finetune: Literal["lora", "full"] = "lora"
    quantization: Literal["none", "4bit"] = "none"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    optim: str = "auto"  # auto: paged_adamw_32bit on CUDA, adamw_torch on CPU
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler: str = "constant_with_warmup"
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(0.3, gt=0)
    global_batch_size: int = Field(192, ge=1)  # examples per optimizer step, across GPUs and accumulation
    micro_batch_size: int = Field(4, ge=1)  # examples per forward pass per device
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # fp16 diverges on Qwen
    gradient_checkpointing: bool = False
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2", "flash_attention_3"] = "sdpa"
    seed: int = 42
    logging_steps: int = Field(10, ge=1)
    save_steps: int = Field(200, ge=1)
    save_total_limit: int = Field(2, ge=1)
    merge_after: bool = False  # also write runs/<name>/merged after the last stage
    est_gpu_memory_gb: float | None = Field(None, gt=0)  # QLoRA peak per GPU, from taiyi.train.memory
    stages: dict[Literal["stage1", "stage2"], StageSpec] = Field(default_factory=_default_stages)

    @field_validator("chat_format")
    @classmethod
    def _chat_format(cls, v: str) -> str:
        from taiyi.train.templates import chat_formats

        if v not in chat_formats():
            raise ValueError(f"unknown chat format {v!r}; allowed: {', '.join(chat_formats())}")
        return v

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        if v not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {v!r}; allowed: {', '.join(SCHEDULERS)}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if not self.base_model and self.tiny_model is None:
            raise ValueError("set base_model (hub id or local path) or tiny_model")
        if self.quantization == "4bit" and self.finetune != "lora":
            raise ValueError("quantization: 4bit needs finetune: lora (QLoRA); a 4-bit model cannot be fully fine-tuned")
        if not self.stages:
            raise ValueError("stages: give at least stage1")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    @property
    def token_cache_dir(self) -> Path:
        return Path(self.token_cache) if self.token_cache else Path(self.output_dir) / "token-cache"

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------------------------- loading


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict, overrides: dict | None) -> dict:
    """Set dotted keys (``stages.stage1.max_steps``) in a raw recipe dict; string values are parsed as YAML."""
    raw = copy.deepcopy(raw)
    for key, value in (overrides or {}).items():
        if isinstance(value, str):
            value = _parse_value(value)
        node = raw
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value
    return raw


def _fields_at(loc: tuple) -> list[str]:
    """Allowed keys of the model at ``loc`` (for 'unknown key' errors)."""
    model: Any = Recipe
    for part in loc:
        if part in STAGES:
            model = StageSpec
            continue
        f = getattr(model, "model_fields", {}).get(part)
        if f is None:
            break
        ann = f.annotation
        for cand in (LoraSpec, TinyModelSpec, StageSpec, EpochMix):
            if ann is cand or cand in getattr(ann, "__args__", ()):
                model = cand
    return sorted(getattr(model, "model_fields", {}))


def _explain(exc: ValidationError, where: str) -> str:
    """One line: file, field(s) and what is allowed."""
    unknown: dict[tuple, list[str]] = {}
    msgs = []
    for err in exc.errors():
        loc = tuple(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(loc[-1])
            continue
        field = ".".join(loc) or "recipe"
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        if loc and loc[-1] == "[key]":  # a mapping key (stage name) that is not allowed
            msgs.append(f"{'.'.join(loc[:-2])}: unknown key {got!r}; {msg.replace('Input should be', 'allowed:')}")
            continue
        shown = "" if isinstance(got, (dict, list)) or err["type"] == "value_error" else f" (got {got!r})"
        msgs.append(f"{field}: {msg}{shown}")
    for parent, keys in unknown.items():
        prefix = ".".join(parent) + ": " if parent else ""
        msgs.insert(0, f"{prefix}unknown key(s) {sorted(keys)}; allowed: {_fields_at(parent)}")
    return f"{where}: " + "; ".join(msgs)


def recipe_from_dict(raw: dict, where: str = "recipe") -> Recipe:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping of recipe keys, got {type(raw).__name__}")
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        raise DataError(_explain(exc, where)) from None


def load_recipe(path: str | Path, overrides: dict | None = None) -> Recipe:
    """Read a recipe YAML, apply ``overrides`` ({dotted.key: value}), validate; errors name the file and key."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recipe not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: malformed YAML ({str(exc).splitlines()[0]})") from None
    return recipe_from_dict(apply_overrides(raw, overrides), str(path))


def parse_set_options(items: list[str] | None) -> dict:
    """``["a.b=1", "name=x"]`` -> ``{"a.b": "1", "name": "x"}`` (values parsed later as YAML)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise DataError(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out
