"""CUDA-only paths: QLoRA 4-bit on GPU with the paper's optimizer, and one QLoRA step of a 7B-shaped Qwen2.5.

Skipped without a GPU (requires_cuda). On a GPU box: pytest -q tests/train/test_cuda.py -s
(prints tokens/s and peak GPU memory of the 7B-shaped step).
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from pathlib import Path
from taiyi.files import read_jsonl
from taiyi.train.recipe import recipe_from_dict
from taiyi.train.trainer import load_model, optimizer_name, run_training, use_bf16


def _root_conftest():
    """tests/conftest.py as a module (its ``requires_cuda`` marker); conftest files are not importable by name."""
    spec = importlib.util.spec_from_file_location("_taiyi_root_conftest", Path(__file__).parents[1] / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


requires_cuda = _root_conftest().requires_cuda


@requires_cuda
def test_qlora_on_gpu_uses_bf16_and_paged_adamw(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    raw = tiny_recipe(tiny_model_dir, instruction_files, tmp_path, quantization="4bit", optim="auto")
    raw["stages"]["stage1"]["max_steps"] = 3
    rec = recipe_from_dict(raw)
    assert optimizer_name(rec) == "paged_adamw_32bit" and use_bf16(rec)
    paths = run_training(rec, progress=False)
    losses = [r["loss"] for r in read_jsonl(paths["stage2"]["train_log"]) if "loss" in r]
    assert losses and all(math.isfinite(x) for x in losses)


@requires_cuda
def test_one_qlora_step_on_a_7b_shaped_qwen25(tmp_path):
    """Random-initialised Qwen2.5-7B shape (28 layers unless TAIYI_7B_LAYERS), nf4 + LoRA r=64, 1024 tokens."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from taiyi.train.packing import make_collator
    from taiyi.train.recipe import Recipe

    layers = int(os.environ.get("TAIYI_7B_LAYERS", "28"))
    cfg = Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=layers,
                      num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                      rope_theta=1e6, tie_word_embeddings=False, use_cache=False)
    base = tmp_path / "qwen25-7b-shaped"
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = Qwen2ForCausalLM(cfg)
    finally:
        torch.set_default_dtype(torch.float32)
    model.save_pretrained(base)
    del model
    torch.cuda.empty_cache()
    rec = Recipe(name="gpu7b", base_model=str(base), quantization="4bit", gradient_checkpointing=True)
    model = load_model(rec, str(base))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    g = torch.Generator().manual_seed(0)
    lengths = [512, 256, 128, 128]  # one packed row of 1024 tokens
    feats = [{"input_ids": torch.randint(0, 152064, (n,), generator=g).tolist()} for n in lengths]
    for f in feats:
        f["labels"] = list(f["input_ids"])
    batch = {k: v.cuda() for k, v in make_collator(None, packing=True)(feats).items()}
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
    t = time.perf_counter()
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(f"\n7B-shaped QLoRA step ({layers} layers): loss {loss.item():.3f}, {sum(lengths) / dt:.0f} tokens/s, "
          f"peak GPU memory {peak:.1f} GiB")
    assert math.isfinite(loss.item())
