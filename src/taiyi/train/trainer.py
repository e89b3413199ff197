"""Carry out a recipe: per stage, encode the data, load the model (``loader``), train with the transformers
``Trainer``, and write ``runs/<name>/<stage>/{adapter/, train_log.jsonl, loss.png, config.yaml, manifest.json}``.

Why: stage 2 must start exactly at the stage-1 weights, a killed run must resume bit-for-bit from its last
*complete* checkpoint (``checkpoints``), and a finished run must never be wiped by accident: an existing run is
replaced only with ``overwrite=True``.
Multi-GPU and multi-node come from ``accelerate launch`` with the shipped configs, not from this module.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from taiyi.files import DataError, atomic_dir, atomic_path, manifest, write_json, write_jsonl
from taiyi.train.checkpoints import (
    checkpoints,
    clean_temp_leftovers,
    last_complete_checkpoint,
    marking_trainer,
    remove_partial_checkpoints,
)
from taiyi.train.recipe import STAGES, Recipe, StageSpec



# ---------------------------------------------------------------------------------------------- runtime facts


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def use_bf16(rec: Recipe) -> bool:
    import torch

    if rec.precision == "fp32":
        return False
    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if rec.precision == "bf16" and not supported and torch.cuda.is_available():
        raise DataError("precision: bf16 asked for but this GPU has no bf16; use precision: fp32")
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


def stage_output_name(rec: Recipe) -> str:
    return "adapter" if rec.finetune == "lora" else "model"


# ---------------------------------------------------------------------------------------------- model


def load_tokenizer(rec: Recipe, base: str):
    from taiyi.train.loader import load_tokenizer as _load

    return _load(base, padding_side="right")


def load_model(rec: Recipe, base: str, init_from: str | None = None):
    """The trainable model of one stage: base (4-bit for QLoRA) + a new LoRA, or + the adapter ``init_from``."""
    from taiyi.train.loader import load_causal_lm
    from taiyi.train.packing import make_packing_safe

    if rec.finetune == "full" and init_from:
        base = init_from
    model = load_causal_lm(base, dtype="bf16" if use_bf16(rec) else "fp32",
                           quantization=None if rec.quantization == "none" else rec.quantization,
                           attn_implementation=rec.attn_implementation, training=True)
    make_packing_safe(model)
    if rec.finetune == "full":
        return model
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    if rec.quantization == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=rec.gradient_checkpointing)
    elif rec.gradient_checkpointing:
        model.enable_input_require_grads()
    if init_from:
        model = PeftModel.from_pretrained(model, init_from, is_trainable=True)
    else:
        from transformers import set_seed

        set_seed(rec.seed)  # LoRA's random init must not depend on what ran earlier in the process
        lc = LoraConfig(r=rec.lora.r, lora_alpha=rec.lora.alpha, lora_dropout=rec.lora.dropout,
                        target_modules=rec.lora.target_modules, modules_to_save=rec.lora.modules_to_save,
                        bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, lc)
    make_packing_safe(model)
    return model


def ensure_base_model(rec: Recipe) -> str:
    """The base model path; with ``tiny_model`` builds it once into runs/<name>/base from the stage data."""
    if rec.tiny_model is None:
        return rec.base_model
    from taiyi.train.chat_format import iter_texts
    from taiyi.train.tiny_model import build_tiny_model

    out = rec.run_dir / "base"
    if (out / "config.json").is_file():
        return str(out)
    from taiyi.files import expand_shards

    paths = [p for s in rec.stages.values() if s.data for p in expand_shards(s.data)]  # DataError when missing
    texts = list(iter_texts(paths))
    with atomic_dir(out) as tmp:
        build_tiny_model(tmp, texts, size=rec.tiny_model.size, vocab_size=rec.tiny_model.vocab_size,
                         seed=rec.tiny_model.seed, max_position_embeddings=max(2048, rec.max_length),
                         family=rec.tiny_model.family)
    return str(out)


# ---------------------------------------------------------------------------------------------- one stage


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
        save_total_limit=None,  # rotation happens after the completeness marker (MarkedTrainer)
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


def stage_mix(spec: StageSpec):
    """The stage's per-epoch mix: the recipe's ``mix``, else the build's ``<data stem>.mix.json``, else None."""
    from taiyi.files import read_json
    from taiyi.instructions.epoch_mix import EpochMix

    if spec.mix is not None:
        return spec.mix
    side = Path(spec.data).with_name(Path(spec.data).stem + ".mix.json")
    if side.is_file():
        try:
            return EpochMix.model_validate(read_json(side))
        except ValueError as exc:
            raise DataError(f"{side}: {str(exc).splitlines()[0]}") from None
    return None


def write_loss_plot(log: list[dict], path: Path, title: str) -> None:
    """loss.png (training loss per step) with matplotlib's Agg backend, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    from taiyi.train.chat_format import ChatEncoder, save_chat_assets
    from taiyi.train.packing import make_collator
    from taiyi.train.sampling import EpochMixSampler, epoch_plan, stage_trainer
    from taiyi.train.token_cache import CachedExamples, open_cache

    spec = rec.stages.get(stage)
    if spec is None or not spec.data:
        raise DataError(f"recipe {rec.name}: no data for {stage}")
    out = rec.run_dir / stage
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoints"
    last = None
    if resume:
        if _rank0():
            gone = remove_partial_checkpoints(ckpt_dir)
            if gone:
                _say(f"[{stage}] removed unfinished checkpoint(s) of a killed run: {', '.join(gone)}")
        last = last_complete_checkpoint(ckpt_dir)
        if last:
            _say(f"[{stage}] resuming from {last}")
    elif ckpt_dir.is_dir() and _rank0():  # only reached with overwrite (checked up front)
        shutil.rmtree(ckpt_dir)

    tok = load_tokenizer(rec, base)
    encoder = ChatEncoder(tok, rec.max_length, rec.chat_format, thinking=rec.thinking)
    cache, hit = open_cache(spec.data, encoder, rec.token_cache_dir, num_proc=rec.num_proc, progress=progress)
    stats = cache.stats
    if not len(cache):
        raise DataError(f"{spec.data}: no trainable records (stats: {stats.as_dict()})")
    _say(f"[{stage}] {spec.data}: {stats.kept}/{stats.seen} records kept, {stats.truncated} prompt-truncated, "
         f"dropped {dict(stats.dropped) or 0}; {stats.tokens} tokens, {stats.supervised_tokens} supervised "
         f"(chat format {encoder.family.name}); token cache {'reused' if hit else 'written'}: {cache.dir}")
    examples = CachedExamples(cache)
    mix = stage_mix(spec)
    plan = epoch_plan(mix, cache, rec.seed) if mix else None
    sampler = EpochMixSampler(plan) if plan else None
    if plan:
        _say(f"[{stage}] weighted mix by {mix.by}: {len(plan)} of {len(cache)} examples per epoch, resampled each epoch")

    model = load_model(rec, base, init_from)
    args = training_arguments(rec, stage, spec, out)
    args.disable_tqdm = not progress
    use_fa = rec.attn_implementation.startswith("flash_attention")
    trainer_cls = stage_trainer(marking_trainer(), sampler)
    trainer_cls.keep_checkpoints = rec.save_total_limit
    trainer = trainer_cls(model=model, args=args, train_dataset=examples, processing_class=tok,
                          data_collator=make_collator(tok, rec.packing, flash_attn_kwargs=use_fa),
                          callbacks=callbacks or None)
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    if trainer.state.global_step == 0:
        raise DataError(f"[{stage}] trained 0 steps (epochs {spec.epochs}, max_steps {spec.max_steps}); nothing written")
    paths = {"dir": str(out)}
    if trainer.is_world_process_zero():
        log = [dict(r) for r in trainer.state.log_history]
        name = stage_output_name(rec)
        with atomic_dir(out / name) as tmp:
            if rec.finetune == "full":
                trainer.model.config.use_cache = True  # a saved full model is for inference
            trainer.model.save_pretrained(tmp)
            save_chat_assets(tok, tmp, encoder.family, getattr(trainer.model, "generation_config", None))
        write_jsonl(out / "train_log.jsonl", log)
        write_loss_plot(log, out / "loss.png", f"{rec.name} {stage}")
        cfg = rec.to_dict() | {"stage": stage, "base_model_resolved": base, "init_from": init_from,
                               "chat_family": encoder.family.name,
                               "accumulation_steps": args.gradient_accumulation_steps,
                               "world_size": world_size(), "optim_resolved": args.optim.value
                               if hasattr(args.optim, "value") else str(args.optim), "bf16": args.bf16}
        with atomic_path(out / "config.yaml") as tmp:
            tmp.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
        write_json(out / "manifest.json", manifest(f"train:{stage}", [spec.data], cfg,
                                                   encode_stats=stats.as_dict(), token_cache=str(cache.dir),
                                                   token_cache_hit=hit, mix=plan.report(math.ceil(spec.epochs))
                                                   if plan else None, train_metrics=result.metrics))
        paths.update({name: str(out / name), "train_log": str(out / "train_log.jsonl"),
                      "loss_png": str(out / "loss.png"), "config": str(out / "config.yaml")})
    return paths


# ---------------------------------------------------------------------------------------------- the run


def _check_existing(rec: Recipe, stages: tuple, resume: bool, overwrite: bool) -> None:
    """Refuse to start over on top of an existing run unless told (--resume continues, --overwrite replaces)."""
    if resume or overwrite:
        return
    name = stage_output_name(rec)
    for stage in stages:
        d = rec.run_dir / stage
        held = [p for p in (d / "checkpoints", d / name) if p.is_dir() and any(p.iterdir())]
        if held:
            raise DataError(f"{d} already holds a run ({', '.join(p.name for p in held)}); "
                            "pass --resume to continue it or --overwrite to start over")
    if rec.merge_after and (rec.run_dir / "merged").is_dir():
        raise DataError(f"{rec.run_dir / 'merged'} exists; pass --overwrite to replace it")


def run_training(recipe: Recipe, *, stages=None, resume: bool = False, overwrite: bool = False,
                 callbacks: list | None = None, progress: bool = True) -> dict:
    """Run the recipe's stages in order (default: every stage it defines; stage 2 continues stage 1's weights);
    returns {stage: paths, ...}."""
    rec = recipe
    stages = tuple(s for s in STAGES if s in rec.stages) if stages is None else tuple(stages)
    for s in stages:
        if s not in STAGES:
            raise DataError(f"unknown stage {s!r}; allowed: {list(STAGES)}")
        if s not in rec.stages:
            raise DataError(f"recipe {rec.name}: no {s} in stages (it has {sorted(rec.stages)})")
    if resume and overwrite:
        raise DataError("--resume and --overwrite contradict each other; choose one")
    _check_existing(rec, stages, resume, overwrite)
    if _rank0():
        gone = clean_temp_leftovers(rec.run_dir)
        if gone:
            _say(f"removed {len(gone)} temporary leftover(s) of a killed run under {rec.run_dir}")
    base = ensure_base_model(rec)
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
        if resume and done.is_dir() and not checkpoints(rec.run_dir / stage / "checkpoints"):
            _say(f"[{stage}] already complete at {done}; skipping (resume)")
            paths[stage] = {"dir": str(done.parent), name: str(done)}
            continue
        paths[stage] = run_stage(rec, stage, base=base, init_from=init_from, resume=resume,
                                 callbacks=callbacks, progress=progress)
        if _rank0() and (rec.run_dir / stage / name).is_dir():
            shutil.rmtree(rec.run_dir / stage / "checkpoints", ignore_errors=True)
    last_stage = [s for s in STAGES if s in stages][-1]
    if rec.merge_after and rec.finetune == "lora":
        from taiyi.train.merge import merge_adapter

        paths["merged"] = str(merge_adapter(base, rec.run_dir / last_stage / "adapter", rec.run_dir / "merged",
                                            dtype="bfloat16" if use_bf16(rec) else "float32"))
    elif rec.merge_after and rec.finetune == "full" and _rank0():
        with atomic_dir(rec.run_dir / "merged") as tmp:  # the final full model, under the usual name
            shutil.copytree(rec.run_dir / last_stage / "model", tmp, dirs_exist_ok=True)
        paths["merged"] = str(rec.run_dir / "merged")
    return paths


def _say(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(msg, markup=False, highlight=False)
