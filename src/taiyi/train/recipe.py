"""The training recipe: a YAML file read top to bottom, and ``run_training`` that carries it out.

Why: the paper's method is two-stage (Q)LoRA instruction tuning of a Qwen base (design §5). A recipe file
names every hyperparameter once; ``run_training`` composes the small components — chat encoding
(``chat_format``), batching (``packing``), the model (transformers + PEFT + bitsandbytes), the
transformers ``Trainer`` — and writes, per stage, ``runs/<name>/<stage>/{adapter/, train_log.jsonl,
loss.png, config.yaml}``. Stage 2 starts from the stage-1 adapter; ``resume=True`` continues from the last
checkpoint with the same data order (the Trainer restores RNG state and skips the consumed batches).
Multi-GPU and multi-node come from ``accelerate launch`` with the shipped configs, not from this module.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from taiyi.files import DataError, write_json, write_jsonl

STAGES = ("stage1", "stage2")


@dataclass
class LoraSpec:
    r: int = 64
    alpha: int = 16
    dropout: float = 0.05
    target_modules: Any = "all-linear"  # every linear layer except lm_head (PEFT's rule)
    modules_to_save: list | None = None


@dataclass
class StageSpec:
    data: str = ""
    epochs: float = 1.0
    max_steps: int = -1  # > 0 caps the stage (tests, smoke runs)
    learning_rate: float | None = None  # None: the recipe's


@dataclass
class TinyModelSpec:
    """Build a random-initialised small Qwen2 + tokenizer trained on the stage data (demo / CI)."""

    size: str = "demo"
    vocab_size: int = 4096
    seed: int = 0


@dataclass
class Recipe:
    name: str = "taiyi"
    output_dir: str = "runs"
    base_model: str = ""
    tiny_model: TinyModelSpec | None = None
    chat_format: str = "chatml"  # chatml | eod
    max_length: int = 1024
    packing: bool = True
    finetune: str = "lora"  # lora | full
    quantization: str = "none"  # none | 4bit
    lora: LoraSpec = field(default_factory=LoraSpec)
    optim: str = "auto"  # auto: paged_adamw_32bit on CUDA, adamw_torch on CPU
    learning_rate: float = 2e-4
    lr_scheduler: str = "constant_with_warmup"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 0.3
    global_batch_size: int = 192  # examples per optimizer step, across GPUs and accumulation
    micro_batch_size: int = 4  # examples per forward pass per device
    precision: str = "auto"  # auto: bf16 where supported, else fp32 | bf16 | fp32
    gradient_checkpointing: bool = False
    attn_implementation: str = "sdpa"
    seed: int = 42
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int = 2
    merge_after: bool = False  # also write runs/<name>/merged after the last stage
    stages: dict = field(
        default_factory=lambda: {
            "stage1": StageSpec("instructions/stage1.jsonl", 5),
            "stage2": StageSpec("instructions/stage2.jsonl", 3),
        }
    )

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------- loading


def _parse_value(text: str) -> Any:
    return yaml.safe_load(text) if text != "" else ""


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


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise DataError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    return cls(**data)


def recipe_from_dict(raw: dict, where: str = "recipe") -> Recipe:
    raw = dict(raw)
    lora = _build(LoraSpec, raw.pop("lora", None) or {}, f"{where}: lora")
    tiny = raw.pop("tiny_model", None)
    tiny = _build(TinyModelSpec, tiny, f"{where}: tiny_model") if tiny else None
    stages_raw = raw.pop("stages", None)
    stages = {}
    if stages_raw is not None:
        if not isinstance(stages_raw, dict):
            raise DataError(f"{where}: stages must be a mapping of stage1/stage2")
        for name, spec in stages_raw.items():
            if name not in STAGES:
                raise DataError(f"{where}: unknown stage {name!r}; allowed: {list(STAGES)}")
            stages[name] = _build(StageSpec, spec or {}, f"{where}: stages.{name}")
    rec = _build(Recipe, raw, where)
    rec.lora, rec.tiny_model = lora, tiny
    if stages:
        rec.stages = stages
    for k in ("learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm"):
        setattr(rec, k, float(getattr(rec, k)))
    _check(rec, where)
    return rec


def _check(rec: Recipe, where: str) -> None:
    def bad(msg):
        raise DataError(f"{where}: {msg}")

    if not rec.base_model and rec.tiny_model is None:
        bad("set base_model (hub id or local path) or tiny_model")
    if rec.chat_format not in ("chatml", "eod"):
        bad(f"chat_format must be chatml or eod, got {rec.chat_format!r}")
    if rec.finetune not in ("lora", "full"):
        bad(f"finetune must be lora or full, got {rec.finetune!r}")
    if rec.quantization not in ("none", "4bit"):
        bad(f"quantization must be none or 4bit, got {rec.quantization!r}")
    if rec.quantization == "4bit" and rec.finetune != "lora":
        bad("quantization: 4bit needs finetune: lora (QLoRA); a 4-bit model cannot be fully fine-tuned")
    if rec.precision not in ("auto", "bf16", "fp32"):
        bad(f"precision must be auto, bf16 or fp32 (fp16 diverges on Qwen), got {rec.precision!r}")
    if not 0.0 <= rec.warmup_ratio < 1.0:
        bad(f"warmup_ratio is a fraction of the steps in [0, 1), got {rec.warmup_ratio}")
    if rec.max_length < 16:
        bad("max_length must be >= 16")
    if rec.global_batch_size < 1 or rec.micro_batch_size < 1:
        bad("global_batch_size and micro_batch_size must be >= 1")


def load_recipe(path: str | Path, overrides: dict | None = None) -> Recipe:
    """Read a recipe YAML, apply ``overrides`` ({dotted.key: value}), validate; errors name the file and key."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recipe not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: malformed YAML ({exc})") from None
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


# ---------------------------------------------------------------------------------------------- runtime


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def use_bf16(rec: Recipe) -> bool:
    import torch

    if rec.precision == "fp32":
        return False
    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if rec.precision == "bf16" and not supported and torch.cuda.is_available():
        raise RuntimeError("precision: bf16 asked for but this GPU has no bf16; use precision: fp32")
    return supported if rec.precision == "auto" else True


def optimizer_name(rec: Recipe) -> str:
    if rec.optim != "auto":
        return rec.optim
    return "paged_adamw_32bit" if _cuda() else "adamw_torch"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def accumulation_steps(rec: Recipe) -> int:
    """Gradient accumulation so that micro x accumulation x GPUs ~= global_batch_size."""
    return max(1, math.ceil(rec.global_batch_size / (rec.micro_batch_size * world_size())))


def disable_cpu_4bit_repack(model) -> int:
    """bitsandbytes on AVX512-BF16 CPUs repacks 4-bit weights after an eval forward, which breaks the next
    training step of layers with a bias (stack-notes §4); switch that repacking off. Returns layers touched."""
    import bitsandbytes as bnb

    n = 0
    for m in model.modules():
        if isinstance(m, bnb.nn.Linear4bit):
            m.support_avx512bf16_for_cpu = False
            n += 1
    return n


def ensure_base_model(rec: Recipe, progress: bool = True) -> str:
    """The base model path; with ``tiny_model`` builds it once into runs/<name>/base from the stage data."""
    if rec.tiny_model is None:
        return rec.base_model
    from taiyi.files import atomic_dir
    from taiyi.train.chat_format import iter_texts
    from taiyi.train.tiny_model import build_tiny_model

    out = rec.run_dir / "base"
    if (out / "config.json").is_file():
        return str(out)
    paths = [Path(s.data) for s in rec.stages.values() if s.data]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"instructions file(s) not found: {missing}")
    texts = list(iter_texts(paths))
    with atomic_dir(out) as tmp:
        build_tiny_model(tmp, texts, size=rec.tiny_model.size, vocab_size=rec.tiny_model.vocab_size,
                         seed=rec.tiny_model.seed, max_position_embeddings=max(2048, rec.max_length))
    return str(out)


def load_tokenizer(rec: Recipe, base: str):
    from transformers import AutoTokenizer

    from taiyi.train.chat_format import prepare_tokenizer

    tok = AutoTokenizer.from_pretrained(base)
    tok.padding_side = "right"
    return prepare_tokenizer(tok, rec.chat_format)


def load_model(rec: Recipe, base: str, init_from: str | None = None):
    """The trainable model of one stage: base (4-bit for QLoRA) + a new LoRA, or + the adapter ``init_from``."""
    import torch
    from transformers import AutoModelForCausalLM

    from taiyi.train.packing import make_packing_safe

    bf16 = use_bf16(rec)
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if bf16 else torch.float32,
                              "attn_implementation": rec.attn_implementation}
    if rec.quantization == "4bit":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32,
        )
        if _cuda():
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    if rec.finetune == "full" and init_from:
        base = init_from
    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    make_packing_safe(model)
    if rec.finetune == "full":
        return model
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    if rec.quantization == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=rec.gradient_checkpointing)
        if not _cuda():
            disable_cpu_4bit_repack(model)
    elif rec.gradient_checkpointing:
        model.enable_input_require_grads()
    if init_from:
        model = PeftModel.from_pretrained(model, init_from, is_trainable=True)
    else:
        from transformers import set_seed

        set_seed(rec.seed)  # LoRA's random init must not depend on what ran earlier in the process
        lc = LoraConfig(
            r=rec.lora.r,
            lora_alpha=rec.lora.alpha,
            lora_dropout=rec.lora.dropout,
            target_modules=rec.lora.target_modules,
            modules_to_save=rec.lora.modules_to_save,
            bias="none",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lc)
    make_packing_safe(model)
    return model


def stage_output_name(rec: Recipe) -> str:
    return "adapter" if rec.finetune == "lora" else "model"


def training_arguments(rec: Recipe, stage: str, spec: StageSpec, out: Path):
    """transformers TrainingArguments for one stage (sampler, schedule, precision, checkpoints)."""
    from transformers import TrainingArguments

    from taiyi.train.packing import sampling_strategy

    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=rec.micro_batch_size,
        gradient_accumulation_steps=accumulation_steps(rec),
        num_train_epochs=float(spec.epochs),
        max_steps=int(spec.max_steps),
        learning_rate=float(spec.learning_rate if spec.learning_rate is not None else rec.learning_rate),
        lr_scheduler_type=rec.lr_scheduler,
        warmup_steps=float(rec.warmup_ratio),
        weight_decay=rec.weight_decay,
        max_grad_norm=rec.max_grad_norm,
        optim=optimizer_name(rec),
        bf16=use_bf16(rec),
        use_cpu=not _cuda(),
        activation_checkpointing=rec.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if rec.gradient_checkpointing else None,
        logging_steps=rec.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=rec.save_steps,
        save_total_limit=rec.save_total_limit,
        seed=rec.seed,
        data_seed=rec.seed,
        train_sampling_strategy=sampling_strategy(rec.packing),
        remove_unused_columns=False,
        report_to=[],
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
        include_num_input_tokens_seen="non_padding",
        run_name=f"{rec.name}-{stage}",
    )


def write_loss_plot(log: list[dict], path: Path, title: str) -> None:
    """loss.png (training loss per step) with matplotlib's Agg backend, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from taiyi.files import atomic_path

    pts = [(r["step"], r["loss"]) for r in log if "loss" in r and "step" in r]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=2)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def run_stage(rec: Recipe, stage: str, *, base: str, init_from: str | None = None, resume: bool = False,
              callbacks: list | None = None, progress: bool = True) -> dict:
    """Train one stage; returns its output paths. See the module docstring for the layout."""
    from transformers import Trainer
    from transformers.trainer_utils import get_last_checkpoint

    from taiyi.files import atomic_dir, manifest
    from taiyi.train.chat_format import ChatEncoder, encode_file, save_chat_assets
    from taiyi.train.packing import make_collator

    spec = rec.stages.get(stage)
    if spec is None or not spec.data:
        raise DataError(f"recipe {rec.name}: no data for {stage}")
    out = rec.run_dir / stage
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoints"
    last = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if not resume and ckpt_dir.is_dir():
        if int(os.environ.get("RANK", "0")) == 0:
            shutil.rmtree(ckpt_dir)
        last = None

    tok = load_tokenizer(rec, base)
    encoder = ChatEncoder(tok, rec.max_length, rec.chat_format)
    examples, stats = encode_file(spec.data, encoder, progress=progress)
    if not examples:
        raise DataError(f"{spec.data}: no trainable records (stats: {stats.as_dict()})")
    _say(f"[{stage}] {spec.data}: {stats.kept}/{stats.seen} records kept, {stats.truncated} prompt-truncated, "
         f"dropped {dict(stats.dropped) or 0}; {stats.tokens} tokens, {stats.supervised_tokens} supervised")

    model = load_model(rec, base, init_from)
    args = training_arguments(rec, stage, spec, out)
    args.disable_tqdm = not progress
    use_fa = rec.attn_implementation.startswith("flash_attention")
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=make_collator(tok, rec.packing, flash_attn_kwargs=use_fa),
        processing_class=tok,
        callbacks=callbacks or None,
    )
    result = trainer.train(resume_from_checkpoint=last if resume and last else None)
    paths = {"dir": str(out)}
    if trainer.is_world_process_zero():
        log = [dict(r) for r in trainer.state.log_history]
        name = stage_output_name(rec)
        with atomic_dir(out / name) as tmp:
            if rec.finetune == "full":
                trainer.model.config.use_cache = True  # a saved full model is for inference
            trainer.model.save_pretrained(tmp)
            save_chat_assets(tok, tmp, rec.chat_format, getattr(trainer.model, "generation_config", None))
        write_jsonl(out / "train_log.jsonl", log)
        write_loss_plot(log, out / "loss.png", f"{rec.name} {stage}")
        cfg = rec.to_dict() | {"stage": stage, "base_model_resolved": base, "init_from": init_from,
                               "accumulation_steps": args.gradient_accumulation_steps,
                               "world_size": world_size(), "optim_resolved": args.optim.value
                               if hasattr(args.optim, "value") else str(args.optim), "bf16": args.bf16}
        from taiyi.files import atomic_path

        with atomic_path(out / "config.yaml") as tmp:
            tmp.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
        write_json(out / "manifest.json", manifest(f"train:{stage}", [spec.data], cfg,
                                                   encode_stats=stats.as_dict(),
                                                   train_metrics=result.metrics))
        paths.update({name: str(out / name), "train_log": str(out / "train_log.jsonl"),
                      "loss_png": str(out / "loss.png"), "config": str(out / "config.yaml")})
    return paths


def run_training(recipe: Recipe, *, stages=STAGES, resume: bool = False, callbacks: list | None = None,
                 progress: bool = True) -> dict:
    """Run the recipe's stages in order (stage 2 continues stage 1's weights); returns {stage: paths, ...}."""
    rec = recipe
    stages = tuple(stages)
    for s in stages:
        if s not in STAGES:
            raise DataError(f"unknown stage {s!r}; allowed: {list(STAGES)}")
    base = ensure_base_model(rec, progress)
    paths: dict[str, Any] = {"run_dir": str(rec.run_dir), "base_model": base}
    name = stage_output_name(rec)
    for stage in STAGES:
        if stage not in stages:
            continue
        init_from = None
        if stage == "stage2":
            prev = rec.run_dir / "stage1" / name
            if not prev.is_dir():
                raise DataError(f"stage2 continues stage1, but {prev} does not exist; train stage1 first")
            init_from = str(prev)
        done = rec.run_dir / stage / name
        if resume and done.is_dir() and not (rec.run_dir / stage / "checkpoints").is_dir():
            _say(f"[{stage}] already complete at {done}; skipping (resume)")
            paths[stage] = {"dir": str(done.parent), name: str(done)}
            continue
        paths[stage] = run_stage(rec, stage, base=base, init_from=init_from, resume=resume,
                                 callbacks=callbacks, progress=progress)
        if int(os.environ.get("RANK", "0")) == 0 and (rec.run_dir / stage / name).is_dir():
            shutil.rmtree(rec.run_dir / stage / "checkpoints", ignore_errors=True)
    last_stage = [s for s in STAGES if s in stages][-1]
    if rec.merge_after and rec.finetune == "lora":
        from taiyi.train.merge import merge_adapter

        paths["merged"] = str(merge_adapter(base, rec.run_dir / last_stage / "adapter", rec.run_dir / "merged",
                                            dtype="bfloat16" if use_bf16(rec) else "float32"))
    elif rec.merge_after and rec.finetune == "full" and int(os.environ.get("RANK", "0")) == 0:
        from taiyi.files import atomic_dir

        with atomic_dir(rec.run_dir / "merged") as tmp:  # the final full model, under the usual name
            shutil.copytree(rec.run_dir / last_stage / "model", tmp, dirs_exist_ok=True)
        paths["merged"] = str(rec.run_dir / "merged")
    return paths


def _say(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(msg, markup=False, highlight=False)
