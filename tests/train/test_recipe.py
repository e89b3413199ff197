"""Recipe loading, the two-stage run, its outputs, and resume after a kill."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from taiyi.files import DataError, read_jsonl
from taiyi.train.recipe import load_recipe, parse_set_options, recipe_from_dict
from taiyi.train.trainer import load_model, run_training

REPO = Path(__file__).resolve().parents[2]


def test_paper_recipe_has_the_papers_hyperparameters():
    r = load_recipe(REPO / "recipes" / "taiyi-qwen2.5-7b.yaml")
    assert (r.quantization, r.finetune, r.chat_format, r.max_length, r.packing) == ("4bit", "lora", "chatml", 1024, True)
    assert (r.lora.r, r.lora.alpha, r.lora.dropout, r.lora.target_modules) == (64, 16, 0.05, "all-linear")
    assert (r.learning_rate, r.lr_scheduler, r.warmup_ratio, r.weight_decay, r.max_grad_norm) == (
        2e-4, "constant_with_warmup", 0.1, 0.0, 0.3)
    assert r.global_batch_size == 192 and r.optim in ("auto", "paged_adamw_32bit")
    assert r.stages["stage1"].epochs == 5 and r.stages["stage2"].epochs == 3
    demo = load_recipe(REPO / "recipes" / "demo-tiny.yaml")
    assert demo.tiny_model is not None


def test_overrides_and_errors(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("name: a\nbase_model: x\nlearning_rate: 2e-4\n")
    r = load_recipe(p, parse_set_options(["learning_rate=1e-3", "stages.stage1.max_steps=7", "packing=false"]))
    assert r.learning_rate == 1e-3 and r.stages["stage1"].max_steps == 7 and r.packing is False
    with pytest.raises(DataError, match=r"r.yaml: unknown key\(s\) \['lerning_rate'\]"):
        load_recipe(p, {"lerning_rate": "1"})
    with pytest.raises(DataError, match=r"r.yaml: precision: Input should be 'auto', 'bf16' or 'fp32' \(got 'fp16'\)"):
        load_recipe(p, {"precision": "fp16"})
    with pytest.raises(DataError, match="warmup_ratio: Input should be less than 1"):
        load_recipe(p, {"warmup_ratio": "10"})


@pytest.mark.parametrize("key,value,message", [
    ("stages.stage1.epochs", "-1", r"stages.stage1.epochs: Input should be greater than 0 \(got -1\)"),
    ("learning_rate", "abc", r"learning_rate: Input should be a valid number.*\(got 'abc'\)"),
    ("stages.stage1.max_steps", "0", r"stages.stage1.max_steps: must be -1 \(run the epochs\) or a positive"),
    ("lora.rr", "3", r"lora: unknown key\(s\) \['rr'\]; allowed: \['alpha', 'dropout'"),
    ("chat_format", "chatml2", r"chat_format: unknown chat format 'chatml2'; allowed: auto, .*glm4.*llama3"),
    ("finetune", "qlora", r"finetune: Input should be 'lora' or 'full'"),
    ("stages.stage3.data", "x", r"stages: unknown key 'stage3'; allowed: 'stage1' or 'stage2'"),
])
def test_invalid_values_are_rejected_up_front(tmp_path, key, value, message):
    p = tmp_path / "r.yaml"
    p.write_text("name: a\nbase_model: x\n")
    with pytest.raises(DataError, match=r"r.yaml: " + message):
        load_recipe(p, parse_set_options([f"{key}={value}"]))


def test_parse_set_options():
    with pytest.raises(DataError, match="key=value"):
        parse_set_options(["oops"])


def _lora_tensors(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def test_two_stages_outputs_and_stage2_starts_from_stage1(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    rec = recipe_from_dict(tiny_recipe(tiny_model_dir, instruction_files, tmp_path))
    paths = run_training(rec, progress=False)
    for stage in ("stage1", "stage2"):
        d = tmp_path / "t" / stage
        assert (d / "adapter" / "adapter_model.safetensors").is_file()
        assert (d / "adapter" / "generation_config.json").is_file() and (d / "adapter" / "tokenizer.json").is_file()
        assert (d / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        log = list(read_jsonl(d / "train_log.jsonl"))
        assert [r["step"] for r in log if "loss" in r][:2] == [1, 2] and all(r["loss"] > 0 for r in log if "loss" in r)
        assert "learning_rate: 0.005" in (d / "config.yaml").read_text()
        assert not (d / "checkpoints").exists()
    assert paths["stage2"]["adapter"] == str(tmp_path / "t" / "stage2" / "adapter")

    s1 = load_file(tmp_path / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    s2 = load_file(tmp_path / "t" / "stage2" / "adapter" / "adapter_model.safetensors")
    model = load_model(rec, str(tiny_model_dir), init_from=str(tmp_path / "t" / "stage1" / "adapter"))
    start = {k.replace(".default", ""): v for k, v in _lora_tensors(model).items()}
    assert set(start) == set(s1) and len(s1) > 0
    for k, v in s1.items():
        torch.testing.assert_close(start[k], v)  # stage 2 begins exactly at the stage-1 adapter
    assert any(p.requires_grad for n, p in model.named_parameters() if "lora_" in n)
    assert any(not torch.equal(s1[k], s2[k]) for k in s1)  # and then trains on
    lora_b = [k for k in s1 if "lora_B" in k]
    assert any(s1[k].abs().sum() > 0 for k in lora_b)  # stage 1 moved off the zero init


class _Kill(TrainerCallback):
    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.at:
            raise KeyboardInterrupt(f"killed at step {self.at}")


def test_resume_after_kill_matches_uninterrupted(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    kw = {"stages": {"stage1": {"data": str(instruction_files[0]), "epochs": 1}}, "global_batch_size": 8,
          "micro_batch_size": 8, "lora": {"r": 8, "alpha": 16, "dropout": 0.1}}  # 6 steps, dropout uses RNG
    full = recipe_from_dict(tiny_recipe(tiny_model_dir, instruction_files, tmp_path / "full", **kw))
    run_training(full, stages=("stage1",), progress=False)

    broken = recipe_from_dict(tiny_recipe(tiny_model_dir, instruction_files, tmp_path / "broken", **kw))
    with pytest.raises(KeyboardInterrupt):
        run_training(broken, stages=("stage1",), callbacks=[_Kill(3)], progress=False)  # mid-epoch, ckpt at 2
    ckpts = sorted(p.name for p in (tmp_path / "broken" / "t" / "stage1" / "checkpoints").iterdir())
    assert "checkpoint-2" in ckpts and "checkpoint-4" not in ckpts and not (tmp_path / "broken" / "t" / "stage1" / "adapter").exists()
    run_training(broken, stages=("stage1",), resume=True, progress=False)

    a = load_file(tmp_path / "full" / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "broken" / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    log = [r for r in read_jsonl(tmp_path / "broken" / "t" / "stage1" / "train_log.jsonl") if "loss" in r]
    assert [r["step"] for r in log] == list(range(1, 7))


def test_stage2_needs_stage1(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    rec = recipe_from_dict(tiny_recipe(tiny_model_dir, instruction_files, tmp_path))
    with pytest.raises(DataError, match="train stage1 first"):
        run_training(rec, stages=("stage2",), progress=False)


@pytest.mark.parametrize("name", ["multi_gpu", "deepspeed_zero2", "deepspeed_zero3", "fsdp"])
def test_shipped_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(REPO / "recipes" / "accelerate" / f"{name}.yaml"))
    assert cfg.num_processes == 8 and cfg.mixed_precision == "bf16"
    expected = {"multi_gpu": "MULTI_GPU", "fsdp": "FSDP"}.get(name, "DEEPSPEED")
    assert str(cfg.distributed_type).endswith(expected)
    if name.startswith("deepspeed"):
        assert cfg.deepspeed_config["zero_stage"] == int(name[-1])


def test_full_finetune_two_stages_and_merged_copy(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    """The demo's mode: all weights trainable; stage 2 starts from the stage-1 model; merged/ is the final model."""
    from transformers import AutoModelForCausalLM

    raw = tiny_recipe(tiny_model_dir, instruction_files, tmp_path, finetune="full", merge_after=True)
    raw["stages"]["stage1"]["max_steps"], raw["stages"]["stage2"]["max_steps"] = 2, 1
    rec = recipe_from_dict(raw)
    paths = run_training(rec, progress=False)
    s1 = load_file(tmp_path / "t" / "stage1" / "model" / "model.safetensors")
    base = load_file(Path(tiny_model_dir) / "model.safetensors")
    assert any(not torch.equal(s1[k], base[k]) for k in base)
    start = load_model(rec, str(tiny_model_dir), init_from=str(tmp_path / "t" / "stage1" / "model"))
    for k, v in start.state_dict().items():
        if k in s1:
            torch.testing.assert_close(v, s1[k])
    merged = AutoModelForCausalLM.from_pretrained(paths["merged"])
    assert paths["merged"] == str(tmp_path / "t" / "merged") and merged.config.use_cache
    s2 = load_file(tmp_path / "t" / "stage2" / "model" / "model.safetensors")
    for k, v in merged.state_dict().items():
        if k in s2:
            torch.testing.assert_close(v, s2[k])


def test_sampler_packing_and_schedule(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    from taiyi.train.trainer import training_arguments

    rec = recipe_from_dict(tiny_recipe(tiny_model_dir, instruction_files, tmp_path, global_batch_size=192))
    args = training_arguments(rec, "stage1", rec.stages["stage1"], tmp_path)
    assert args.train_sampling_strategy == "random"  # packed: padding costs nothing, plain seeded shuffle
    assert args.gradient_accumulation_steps == 48 and args.per_device_train_batch_size == 4
    assert args.lr_scheduler_type.value == "constant_with_warmup" and args.warmup_steps == 0.1 and not args.bf16  # CPU: fp32
    rec.packing = False
    args = training_arguments(rec, "stage1", rec.stages["stage1"], tmp_path)
    assert args.train_sampling_strategy == "group_by_length"
