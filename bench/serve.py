"""Benchmark `taiyi serve`: 200 chat requests from 32 concurrent clients beside the same 200 sent one at a time,
and the same 200 again mixed with faults: 20 % of all requests come from clients that hang up after 0.2 s (each
asking for 8x the tokens), plus a few 2 MB prompts. The good requests' p95 latency under faults is reported beside
the clean run's: disconnected clients must not hold the model, oversized prompts must not hold the tokenizer.

Starts our OpenAI-compatible server (micro-batching on) on 127.0.0.1 with the "small" random tiny Qwen2 model
(built offline into a temp dir), loopback only. Every request asks for exactly --max-tokens greedy tokens (a
random model never emits eos), so both runs do the same work. All requests must succeed (else exit 1). Prints
throughput and p50/p95 latency of both runs and ends with one JSON line:
{"bench": "serve", "ours": req/s concurrent, "baseline": req/s sequential, "unit": "requests/s", "ratio", "p50_ms", "p95_ms",
 "faulty_p95_ms": p95 of the good requests under faults, "faulty_failed", "disconnects", "oversized", "oversized_max_ms"}

Usage: .venv/bin/python bench/serve.py [--requests 200] [--clients 32] [--max-tokens 16] [--size small] [--big-prompts 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TEXTS = [
    "Aspirin reduces the risk of myocardial infarction.",
    "阿司匹林可以降低心肌梗死的风险。",
    "Extract the disease entities: Disease: asthma; Chemical: salbutamol",
    "问题：糖尿病的症状有哪些？答案：多饮、多尿、多食和体重下降。",
] * 200


def prompts(n: int) -> list[list[dict]]:
    """Varied prompts of different lengths, Chinese and English, like a real mixed workload."""
    base = ["What is the first-line treatment of type 2 diabetes?", "阿司匹林有哪些常见的副作用？",
            "Extract the chemical and disease entities: famotidine-associated delirium.",
            "将下面的中文翻译成英文：高血压患者应该低盐饮食。"]
    return [[{"role": "user", "content": f"{base[i % 4]} (case {i})" + " details" * (i % 7)}] for i in range(n)]


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def run(url: str, convs: list, clients: int, max_tokens: int, timeout: float) -> tuple[float, list[float], int]:
    import httpx

    def one(http: httpx.Client, msgs) -> tuple[float, bool]:
        t = time.perf_counter()
        r = http.post("/v1/chat/completions", json={"messages": msgs, "max_tokens": max_tokens, "temperature": 0})
        ok = r.status_code == 200 and r.json()["usage"]["completion_tokens"] == max_tokens
        return time.perf_counter() - t, ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=url, timeout=timeout, limits=limits) as http:
        start = time.perf_counter()
        if clients == 1:
            results = [one(http, c) for c in convs]
        else:
            with ThreadPoolExecutor(max_workers=clients) as pool:
                results = list(pool.map(lambda c: one(http, c), convs))
        wall = time.perf_counter() - start
    return wall, [lat for lat, _ in results], sum(1 for _, ok in results if not ok)


def run_faulty(url: str, convs: list, clients: int, max_tokens: int, timeout: float, big_prompts: int,
               disconnect_share: float = 0.2, hang_up_s: float = 0.2) -> dict:
    """The good requests of ``convs`` mixed with disconnecting clients and 2 MB prompts, all concurrent."""
    import random

    import httpx

    n_drop = round(len(convs) * disconnect_share / (1 - disconnect_share))  # 20 % of all requests
    jobs = [("good", c) for c in convs] + [("drop", c) for c in convs[:n_drop]]
    big = [{"role": "user", "content": "阿司匹林 aspirin " * 110_000}]  # ~2 MB of JSON
    jobs += [("big", big)] * big_prompts
    random.Random(0).shuffle(jobs)

    def one(http: httpx.Client, job) -> tuple[str, float, bool]:
        kind, msgs = job
        t = time.perf_counter()
        body = {"messages": msgs, "max_tokens": max_tokens * (8 if kind == "drop" else 1), "temperature": 0}
        try:
            r = http.post("/v1/chat/completions", json=body,
                          timeout=hang_up_s if kind == "drop" else timeout)
        except httpx.TimeoutException:
            return kind, time.perf_counter() - t, kind == "drop"
        lat = time.perf_counter() - t
        if kind == "good":
            return kind, lat, r.status_code == 200 and r.json()["usage"]["completion_tokens"] == max_tokens
        return kind, lat, r.status_code in (400, 413) if kind == "big" else r.status_code == 200

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=url, timeout=timeout, limits=limits) as http:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(lambda j: one(http, j), jobs))
    good = [lat for kind, lat, _ in results if kind == "good"]
    big_lat = [lat for kind, lat, _ in results if kind == "big"]
    return {"good": good, "failed": sum(1 for kind, _, ok in results if kind != "drop" and not ok),
            "disconnects": n_drop, "oversized": big_prompts, "oversized_max_s": max(big_lat, default=0.0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--size", default="small", choices=["tiny", "small", "demo"])
    ap.add_argument("--max-batch-size", type=int, default=32)
    ap.add_argument("--batch-wait-ms", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=300.0, help="per-request limit in seconds")
    ap.add_argument("--big-prompts", type=int, default=3, help="2 MB prompts in the faulty run")
    args = ap.parse_args()

    from taiyi.infer.engine import GenerationParams, load_engine
    from taiyi.infer.server import ServerThread, create_app
    from taiyi.train.tiny_model import build_tiny_model

    convs = prompts(args.requests)
    with tempfile.TemporaryDirectory(prefix="taiyi-bench-serve-") as tmp:
        model = build_tiny_model(Path(tmp) / "model", TEXTS, size=args.size)
        engine = load_engine(str(model), batch_size=args.max_batch_size)
        app = create_app(engine, defaults=GenerationParams.greedy(max_new_tokens=args.max_tokens),
                         max_batch_size=args.max_batch_size, batch_wait_ms=args.batch_wait_ms)
        with ServerThread(app, host="127.0.0.1") as srv:
            run(srv.url, convs[:8], 4, args.max_tokens, args.timeout)  # warm-up
            b0 = app.state.batcher.batches
            c_wall, c_lat, c_fail = run(srv.url, convs, args.clients, args.max_tokens, args.timeout)
            batches = app.state.batcher.batches - b0
            s_wall, s_lat, s_fail = run(srv.url, convs, 1, args.max_tokens, args.timeout)
            faulty = run_faulty(srv.url, convs, args.clients, args.max_tokens, args.timeout, args.big_prompts)
            cancelled = app.state.batcher.cancelled

    n = len(convs)
    ours, base = n / c_wall, n / s_wall
    print(f"model: random {args.size} Qwen2 ({sum(p.numel() for p in engine.model.parameters()) / 1e6:.1f}M params), "
          f"{args.max_tokens} new tokens per request, CPU threads: {os.cpu_count()}", file=sys.stderr)
    print(f"{'run':<28}{'req/s':>8}{'p50 ms':>10}{'p95 ms':>10}{'failed':>8}", file=sys.stderr)
    print(f"{f'{args.clients} concurrent clients':<28}{ours:>8.1f}{statistics.median(c_lat) * 1e3:>10.0f}"
          f"{percentile(c_lat, 95) * 1e3:>10.0f}{c_fail:>8}", file=sys.stderr)
    print(f"{'one at a time':<28}{base:>8.1f}{statistics.median(s_lat) * 1e3:>10.0f}"
          f"{percentile(s_lat, 95) * 1e3:>10.0f}{s_fail:>8}", file=sys.stderr)
    f_lat = faulty["good"]
    print(f"{'same, with faults':<28}{'':>8}{statistics.median(f_lat) * 1e3:>10.0f}"
          f"{percentile(f_lat, 95) * 1e3:>10.0f}{faulty['failed']:>8}", file=sys.stderr)
    print(f"faults: {faulty['disconnects']} clients hung up after 0.2 s ({cancelled} generations cancelled), "
          f"{faulty['oversized']} prompts of 2 MB refused in at most {faulty['oversized_max_s'] * 1e3:.0f} ms",
          file=sys.stderr)
    print(f"concurrent run: {batches} engine calls for {n} requests (mean batch {n / max(batches, 1):.1f})",
          file=sys.stderr)
    print(json.dumps({"bench": "serve", "ours": round(ours, 2), "baseline": round(base, 2), "unit": "requests/s",
                      "ratio": round(ours / base, 2), "p50_ms": round(statistics.median(c_lat) * 1e3, 1),
                      "p95_ms": round(percentile(c_lat, 95) * 1e3, 1),
                      "baseline_p50_ms": round(statistics.median(s_lat) * 1e3, 1),
                      "faulty_p95_ms": round(percentile(f_lat, 95) * 1e3, 1),
                      "faulty_p50_ms": round(statistics.median(f_lat) * 1e3, 1), "faulty_failed": faulty["failed"],
                      "disconnects": faulty["disconnects"], "cancelled": cancelled, "oversized": faulty["oversized"],
                      "oversized_max_ms": round(faulty["oversized_max_s"] * 1e3, 1),
                      "requests": n, "clients": args.clients, "failed": c_fail + s_fail}))
    return 1 if c_fail or s_fail or faulty["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
