"""CUDA-only path: QLoRA 4-bit on GPU with the paper's optimizer (skipped without a GPU).

The 7B-shaped throughput/memory check is bench/gpu.py (its CPU dry run is tests/train/test_bench_gpu.py).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from taiyi.files import read_jsonl
from taiyi.train.recipe import recipe_from_dict
from taiyi.train.trainer import optimizer_name, run_training, use_bf16


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
