"""Benchmark: batched evaluation (taiyi eval's loop) vs one-at-a-time generation, same model, same items, same run.

Builds the tiny offline Qwen2 model, takes real evaluation items (NCBI-disease + PubMedQA from ../shared/datasets;
hand-made PubMedQA-style items when the data is absent), and times ``runner.run_eval`` with ``--batch-size 16``
against ``--batch-size 1``. Both runs generate the same fixed number of tokens per item (a random model never
stops early), so the ratio is the batching speed-up. The last line is one JSON object.

Usage: .venv/bin/python bench/eval.py [--items 48] [--max-new-tokens 32] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TAIYI_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def eval_dir(tmp: Path, n_items: int) -> tuple[Path, str]:
    """Write eval files for the benchmarks; returns (dir, comma-separated benchmark names)."""
    from taiyi.evaluate import registry, runner
    from taiyi.files import write_jsonl
    from taiyi.instructions.benchmarks import write_eval_file

    out = tmp / "eval"
    names = []
    if SHARED.is_dir():
        for name in ("NCBI-disease", "PubMedQA"):
            try:
                items = runner.load_items(registry.benchmarks()[name], data_root=SHARED, limit=n_items // 2)
            except Exception as exc:  # a stage still being built: fall back below
                print(f"{name}: not available ({exc})", file=sys.stderr)
                continue
            write_eval_file(out / f"{name}.jsonl", items)
            names.append(name)
    if not names:
        rows = [{"id": f"PubMedQA:q{i}", "dataset": "pubmed_qa", "task": "mcqa", "lang": "en", "template_id": "t",
                 "document_id": f"q{i}", "target": "yes", "meta": {"choices": ["yes", "no", "maybe"]},
                 "messages": [{"role": "user", "content": f"Question {i}: does drug {i} lower blood pressure "
                               f"in {i % 7 + 2} trials? Options: A. yes B. no C. maybe"},
                              {"role": "assistant", "content": "yes"}]} for i in range(n_items)]
        write_jsonl(out / "PubMedQA.jsonl", rows)
        names = ["PubMedQA"]
    return out, ",".join(names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=48)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    import torch

    from taiyi.evaluate.runner import EvalConfig, run_eval
    from taiyi.infer.engine import load_engine
    from taiyi.train.tiny_model import build_tiny_model

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        model = build_tiny_model(tmp / "model", size="tiny", max_position_embeddings=8192)
        edir, names = eval_dir(tmp, args.items)
        engine = load_engine(str(model))
        timings, scores = {}, {}
        for label, bs in (("warmup", args.batch_size), ("batched", args.batch_size), ("one_at_a_time", 1)):
            cfg = EvalConfig(out=tmp / label, benchmarks=names, model=str(model), eval_dir=edir, batch_size=bs,
                             max_new_tokens=args.max_new_tokens, progress=False,
                             limit=2 if label == "warmup" else None)
            t0 = time.perf_counter()
            res = run_eval(cfg, engine=engine)
            timings[label] = time.perf_counter() - t0
            n = sum(r["n_items"] for r in res["benchmarks"].values())
            scores[label] = {b: r["score"] for b, r in res["benchmarks"].items()}
        engine.close()
    ours, base = n / timings["batched"], n / timings["one_at_a_time"]
    print(f"benchmarks {names}: {n} items, {args.max_new_tokens} new tokens each, tiny model on CPU "
          f"({torch.get_num_threads()} threads)")
    print(f"batched (batch {args.batch_size}): {timings['batched']:.2f} s = {ours:.2f} items/s")
    print(f"one at a time:        {timings['one_at_a_time']:.2f} s = {base:.2f} items/s")
    print(f"scores identical between the two runs: {scores['batched'] == scores['one_at_a_time']}")
    print(json.dumps({"bench": "eval", "ours": round(ours, 3), "baseline": round(base, 3), "unit": "items/s",
                      "ratio": round(ours / base, 3)}))


if __name__ == "__main__":
    main()
