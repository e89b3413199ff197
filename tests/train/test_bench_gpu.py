"""bench/gpu.py's CPU dry run: the same code path as the GPU check (random model through trainer.load_model,
QLoRA and LoRA steps on packed rows, merge check through the engine), on tiny shapes, ending in the JSON line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu.py"
KEYS = {"device", "qlora_tokens_per_s", "qlora_mfu", "qlora_peak_mem_gb", "lora_bf16_tokens_per_s", "merge_ok",
        "vllm_tokens_per_s"}


def test_gpu_bench_dry_run(capsys):
    spec = importlib.util.spec_from_file_location("taiyi_bench_gpu", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--dry-run"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    res = json.loads(last)
    assert KEYS <= set(res)
    assert res["device"] == "cpu (dry run)" and res["merge_ok"] is True and res["losses_finite"] is True
    assert res["qlora_tokens_per_s"] > 0 and res["lora_bf16_tokens_per_s"] > 0
    assert res["qlora_mfu"] is None and res["vllm_tokens_per_s"] is None  # measured only on a GPU
