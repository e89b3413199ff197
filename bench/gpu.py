"""The GPU check: QLoRA and bf16-LoRA training throughput of a Qwen2.5-7B-shaped model, merge correctness, and
vLLM generation throughput — one prepared script, no download, under 8 minutes on one GPU.

Why: no line of the CUDA path had ever run. This builds a random-initialised model with Qwen2.5-7B's shapes
(taiyi.train.memory.SHAPES), loads it through the training code's own loader (``trainer.load_model``: nf4 +
double quantisation, LoRA r=64 on every linear layer, gradient checkpointing), feeds packed rows at the recipe's
length and reports useful tokens/s, MFU and peak memory beside the estimate; repeats with bf16 LoRA; merges an
adapter into a small model and checks greedy text equals base + adapter through the inference engine; and, if
vLLM is installed, serves the small merged model and measures generation throughput.

Without CUDA it runs a tiny dry run of the same code path (``make test`` runs it: tests/train/test_bench_gpu.py).
MFU convention: 6 x parameters x tokens + attention (12 x layers x hidden x sequence per token), over the
device's dense bf16 peak; LoRA skips the frozen weights' gradient, so 100 % is not reachable.

Run: .venv/bin/python bench/gpu.py [--dry-run] [--steps 5] [--micro-batch 4] [--max-length 1024]
Ends with one JSON line: device, qlora_tokens_per_s, qlora_mfu, qlora_peak_mem_gb, lora_bf16_tokens_per_s,
merge_ok, vllm_tokens_per_s (null where not run), plus a few details.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PEAK_BF16_TFLOPS = {"H200": 989, "H100": 989, "A100": 312, "L40S": 362, "A10": 125, "L4": 121, "4090": 165,
                    "3090": 71, "A6000": 155}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_random_model(shape, out: Path, cuda: bool) -> Path:
    """A random-initialised Qwen2 with ``shape``, saved as safetensors (bf16 on GPU, fp32 on CPU)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                      num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                      num_key_value_heads=shape.kv_heads, max_position_embeddings=32768, rope_theta=1e6,
                      tie_word_embeddings=shape.tied, use_cache=False)
    dtype = torch.bfloat16 if cuda else torch.float32
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("cuda" if cuda else "cpu"):
            torch.manual_seed(0)
            model = Qwen2ForCausalLM(cfg)
    finally:
        torch.set_default_dtype(prev)
    model.save_pretrained(out)
    del model
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return out


def packed_batches(n: int, vocab: int, max_length: int, micro_batch: int, seed: int = 0):
    """``n`` packed rows of ``micro_batch`` examples of length max_length/4..max_length (labels on every token)."""
    from taiyi.train.packing import make_collator

    rng = random.Random(seed)
    collate = make_collator(None, packing=True)
    for _ in range(n):
        feats = []
        for _ in range(micro_batch):
            ids = [rng.randrange(vocab) for _ in range(rng.randint(max_length // 4, max_length))]
            feats.append({"input_ids": ids, "labels": list(ids)})
        yield collate(feats)


def train_throughput(base: Path, shape, *, quantization: str, r: int, max_length: int, micro_batch: int,
                     steps: int, warmup: int, cuda: bool) -> dict:
    """Load through trainer.load_model, run optimizer steps on packed rows; tokens/s, MFU, peak memory."""
    import torch

    from taiyi.train.memory import estimate_training_memory
    from taiyi.train.recipe import LoraSpec, Recipe
    from taiyi.train.trainer import load_model

    rec = Recipe(name="bench-gpu", base_model=str(base), quantization=quantization, max_length=max_length,
                 micro_batch_size=micro_batch, lora=LoraSpec(r=r, alpha=16, dropout=0.05),
                 gradient_checkpointing=True, precision="auto")
    t0 = time.perf_counter()
    model = load_model(rec, str(base))
    if cuda and quantization == "none":
        model.to("cuda")  # the Trainer does this in a real run; 4-bit weights are placed by the loader's device map
    load_s = time.perf_counter() - t0
    if rec.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if cuda:
        import bitsandbytes as bnb

        opt = bnb.optim.PagedAdamW32bit(params, lr=2e-4)
    else:
        opt = torch.optim.AdamW(params, lr=2e-4)
    device = next(model.parameters()).device
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tokens, elapsed, losses = 0, 0.0, []
    for i, batch in enumerate(packed_batches(warmup + steps, shape.vocab, max_length, micro_batch)):
        batch = {k: v.to(device) for k, v in batch.items()}
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.3)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        losses.append(float(loss.detach()))
        if i >= warmup:
            elapsed += time.perf_counter() - t
            tokens += int(batch["input_ids"].numel())
    tps = tokens / elapsed if elapsed else 0.0
    seq = 0.7 * max_length  # attention is per example: token-weighted mean length of U(L/4, L) examples
    flops_per_token = 6 * shape.params + 12 * shape.layers * shape.hidden * seq
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    est = estimate_training_memory(shape, max_length=max_length, micro_batch=micro_batch, lora_r=r,
                                   quantization=quantization)["total"]
    del model, opt, params
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return {"tokens_per_s": round(tps, 1), "flops_per_s": tps * flops_per_token, "peak_mem_gb": peak and round(peak, 2),
            "est_mem_gb": est, "load_s": round(load_s, 1), "losses": [round(x, 3) for x in losses],
            "finite": all(x == x and abs(x) < 1e4 for x in losses)}


def merge_check(work: Path, size: str) -> bool:
    """Train a LoRA a few steps on a small model, merge it, compare greedy text: merged vs base + adapter."""
    import torch
    from peft import LoraConfig, get_peft_model

    from taiyi.infer.engine import GenerationParams, load_engine
    from taiyi.train.chat_format import save_chat_assets
    from taiyi.train.loader import load_causal_lm, load_tokenizer
    from taiyi.train.merge import merge_adapter
    from taiyi.train.tiny_model import build_tiny_model

    base = build_tiny_model(work / "small", size=size, vocab_size=2048)
    tok = load_tokenizer(base)
    model = load_causal_lm(base, dtype="fp32", device="cpu", training=True)
    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.2)  # a trained-looking adapter, so merging changes the output
    peft_model.save_pretrained(work / "adapter")
    save_chat_assets(tok, work / "adapter", "auto", model.generation_config)
    merged = merge_adapter(str(base), work / "adapter", work / "merged", dtype="float32")  # fp32: an exact comparison
    convs = [[{"role": "user", "content": c}] for c in ("What is aspirin?", "阿司匹林是什么？", "Extract diseases: asthma")]
    params = GenerationParams.greedy(max_new_tokens=16, min_new_tokens=16, repetition_penalty=1.3)
    dtype = "fp32"
    a = load_engine(str(merged), dtype=dtype)
    b = load_engine(str(base), adapter=str(work / "adapter"), merge_adapter=False, dtype=dtype)
    plain = load_engine(str(base), dtype=dtype)
    try:
        ta, tb, tp = a.generate(convs, params), b.generate(convs, params), plain.generate(convs, params)
    finally:
        for e in (a, b, plain):
            e.close()
    _log(f"merge check: merged == base+adapter: {ta == tb}; adapter changes the text: {ta != tp}")
    return ta == tb and ta != tp


def vllm_throughput(merged: Path) -> float | None:
    from taiyi.infer.vllm_engine import vllm_unavailable_reason

    reason = vllm_unavailable_reason()
    if reason:
        _log(f"vLLM skipped: {reason}")
        return None
    from taiyi.infer.engine import GenerationParams, load_engine

    engine = load_engine(str(merged), backend="vllm", gpu_memory_utilization=0.3)
    convs = [[{"role": "user", "content": f"Question {i}: what is aspirin used for?"}] for i in range(256)]
    params = GenerationParams.greedy(max_new_tokens=128, min_new_tokens=128)
    engine.generate_full(convs[:8], params)  # warm-up (CUDA graphs)
    t = time.perf_counter()
    outs = engine.generate_full(convs, params)
    dt = time.perf_counter() - t
    return round(sum(o.completion_tokens for o in outs) / dt, 1)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="Tiny shapes on CPU (automatic without CUDA).")
    ap.add_argument("--steps", type=int, default=None, help="Measured optimizer steps per mode (default 5; dry run 2).")
    ap.add_argument("--micro-batch", type=int, default=4, help="Examples packed per row (the recipe's micro batch).")
    ap.add_argument("--max-length", type=int, default=1024, help="Longest example (the recipe's max_length).")
    ap.add_argument("--layers", type=int, default=None, help="Decoder layers of the 7B shape (default all 28).")
    a = ap.parse_args(argv)

    import dataclasses

    import torch

    from taiyi.train.memory import SHAPES, ModelShape

    cuda = torch.cuda.is_available() and not a.dry_run
    if cuda:
        shape = SHAPES["Qwen/Qwen2.5-7B"]
        if a.layers:
            shape = dataclasses.replace(shape, layers=a.layers)
        steps, warmup, max_length, micro = a.steps or 5, 2, a.max_length, a.micro_batch
        device = torch.cuda.get_device_name(0)
    else:
        shape = ModelShape("tiny-qwen2.5-shaped", 64, 128, 2, 4, 2, 1024)
        steps, warmup, max_length, micro = a.steps or 2, 1, 64, 2
        device = "cpu (dry run)"
    _log(f"device {device}; shape {shape.name}: {shape.params / 1e9:.3f}B params, max_length {max_length}, "
         f"micro batch {micro}, {steps} measured steps")
    result: dict = {"device": device}
    with tempfile.TemporaryDirectory(prefix="taiyi-bench-gpu-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        base = build_random_model(shape, work / "base", cuda)
        _log(f"built + saved the random model in {time.perf_counter() - t:.1f} s")
        peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None) if cuda else None
        runs = {}
        for mode, quant in (("qlora", "4bit"), ("lora_bf16", "none")):
            res = train_throughput(base, shape, quantization=quant, r=64, max_length=max_length, micro_batch=micro,
                                   steps=steps, warmup=warmup, cuda=cuda)
            res["mfu"] = round(res["flops_per_s"] / (peak_tflops * 1e12), 4) if peak_tflops else None
            runs[mode] = res
            _log(f"{mode}: {res['tokens_per_s']} tokens/s, MFU {res['mfu']}, peak {res['peak_mem_gb']} GB "
                 f"(estimate {res['est_mem_gb']} GB), load {res['load_s']} s, losses {res['losses']}")
        result.update(qlora_tokens_per_s=runs["qlora"]["tokens_per_s"], qlora_mfu=runs["qlora"]["mfu"],
                      qlora_peak_mem_gb=runs["qlora"]["peak_mem_gb"],
                      lora_bf16_tokens_per_s=runs["lora_bf16"]["tokens_per_s"])
        result["merge_ok"] = merge_check(work, "small" if cuda else "tiny")
        result["vllm_tokens_per_s"] = vllm_throughput(work / "merged") if cuda else None
        result.update(qlora_est_mem_gb=runs["qlora"]["est_mem_gb"], lora_bf16_peak_mem_gb=runs["lora_bf16"]["peak_mem_gb"],
                      losses_finite=runs["qlora"]["finite"] and runs["lora_bf16"]["finite"],
                      shape=shape.name, layers=shape.layers, max_length=max_length, micro_batch=micro)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
