"""Paper scale: build throughput (1 and 2 processes) and build memory at 1x and 10x corpus size; encoding
records/s and peak RSS of the token cache (1 and 2 processes) vs today's in-memory encoding; the time for a
second run to start training on a cache hit; and the peak RSS of a training process reading the cache over a
whole epoch.

Build memory is the build process's peak RSS (``build_rss_growth_*``: above its RSS after imports); for traced
Python allocations see bench/build.py. Data: ../shared/datasets converted (``taiyi convert``; or ``--corpus`` for an already converted one), cut to
``--per-split`` records per split for the build timings, and for the memory check ``--mem-per-split`` (1x) and
the same repeated 10 times under new ids (10x), as in bench/build.py (repeats mostly come out as duplicates,
so the 10x build writes few more instructions but reads, draws, hashes and checks 10x the records). The
1x build's stage-2 instructions, repeated under new ids, make the synthetic ``--n``-instruction set (default
the paper's 1,001,788), written as 100k-record shards. Tokenizer and model: a tiny Qwen2 built from a sample
of those instructions (taiyi.train.tiny_model). Each measurement runs in its own process (peak RSS is that
process's VmHWM; ``*_worker_rss_mb`` the largest pool worker's). Encoding speed is measured on ``--sample``
records (best of two runs); the full set is encoded once with ``--num-proc`` processes (that is the cache
training reads).
In-memory encoding is measured on ``--sample`` records and its RSS at ``--n`` estimated from bytes per token.
Ends with one JSON line.

Usage: .venv/bin/python bench/scale.py [--n 1001788] [--sample 10000] [--per-split 300] [--num-proc 2]
                                       [--steps 20] [--corpus DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
T0 = time.perf_counter()


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _mapped_mb(folder: str) -> float:
    """Resident MB of this process's mappings of files under ``folder`` (the token cache's pages)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isdigit() or line[:1] in "abcdef" and "-" in line.split()[0]:
            inside = str(folder) in line
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total / 1024


def _workers_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _child(*argv: str) -> dict:
    """Run ``bench/scale.py --child ...`` in a fresh process; its last stdout line is a JSON result."""
    env = dict(os.environ, PYTHONPATH=str(BENCH.parent / "src"), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--child", *argv], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"child {argv[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- children


def child_encode(mode: str, data: str, model: str, cache: str, procs: int, max_length: int) -> dict:
    from taiyi.train.chat_format import ChatEncoder, encode_file
    from taiyi.train.loader import load_tokenizer
    from taiyi.train.token_cache import open_cache

    enc = ChatEncoder(load_tokenizer(model), max_length=max_length)
    rss0 = _status_mb("VmRSS")
    t, c = time.perf_counter(), time.process_time()
    if mode == "inmemory":
        examples, stats = encode_file(data, enc, progress=False)
    else:
        cache_obj, hit = open_cache(data, enc, cache, num_proc=procs, progress=False)
        stats = cache_obj.stats
        assert not hit, "the encode benchmark must miss the cache"
    dt = time.perf_counter() - t
    cpu = time.process_time() - c + (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime if procs > 1 else 0)
    return {"records": stats.seen, "kept": stats.kept, "tokens": stats.tokens, "rss_before_mb": rss0, "seconds": dt, "cpu_s": cpu, "rss_mb": _status_mb("VmHWM"),
            "worker_rss_mb": _workers_mb() if procs > 1 else 0.0}


def child_train(data: str, model: str, cache: str, out: str, steps: int, max_length: int, micro: int = 1,
                epoch: bool = True) -> dict:
    """A second run: tokenizer + cache hit + model + first optimizer step; then one whole epoch of data reads.

    Batches of 8 examples, as ``micro`` examples per forward pass (accumulated): on a GPU the activations live in
    device memory, on this CPU machine in the process's RSS, so the figure of interest (what the data path and the
    framework hold) is read with ``micro`` 1; ``micro`` 8 shows what the activations add here."""
    import numpy as np
    from transformers import TrainerCallback

    from taiyi.train.recipe import recipe_from_dict
    from taiyi.train.trainer import run_training

    marks: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks.setdefault("first_step", time.perf_counter() - T0)

    rec = recipe_from_dict({"name": "scale", "output_dir": out, "base_model": model, "max_length": max_length,
                            "token_cache": cache, "global_batch_size": 8, "micro_batch_size": micro, "logging_steps": 5,
                            "save_steps": 10_000, "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
                            "stages": {"stage1": {"data": data, "epochs": 1, "max_steps": steps}}})
    run_training(rec, stages=("stage1",), progress=False, callbacks=[Clock()], overwrite=True)
    man = json.loads((Path(out) / "scale" / "stage1" / "manifest.json").read_text())
    rss_train = _status_mb("VmHWM")
    if not epoch:
        return {"start_s": marks["first_step"], "rss_train_mb": rss_train}
    # the rest of the epoch's data path, without the model: every example in the sampler's order, collated
    from taiyi.train.chat_format import ChatEncoder
    from taiyi.train.loader import load_tokenizer
    from taiyi.train.packing import make_collator
    from taiyi.train.token_cache import CachedExamples, open_cache

    tok = load_tokenizer(model)
    t = time.perf_counter()
    cache_obj, hit = open_cache(data, ChatEncoder(tok, max_length=max_length), cache, progress=False)
    ds, collate = CachedExamples(cache_obj), make_collator(tok, packing=True)
    open_s = time.perf_counter() - t
    order = np.random.default_rng(0).permutation(len(ds))
    t, mapped = time.perf_counter(), 0.0
    for k in range(0, len(order), 64):
        collate([ds[int(i)] for i in order[k: k + 64]])
        if k % 65536 == 0:
            mapped = max(mapped, _mapped_mb(cache))
    return {"start_s": marks["first_step"], "hit": man["token_cache_hit"], "rss_train_mb": rss_train,
            "rss_epoch_mb": _status_mb("VmHWM"), "rss_anon_mb": _status_mb("RssAnon"), "examples": len(ds),
            "epoch_read_s": time.perf_counter() - t, "open_s": open_s, "mapped_mb": max(mapped, _mapped_mb(cache)),
            "cache_mb": sum(p.stat().st_size for p in cache_obj.dir.iterdir()) / 2**20}


def child_build(corpus: str, out: str, procs: int) -> dict:
    """One ``taiyi build`` (paper config); peak RSS of this process and the largest worker's, beside the RSS
    before it started (imports), so growth with the corpus is visible."""
    from taiyi.instructions.build import build

    rss0 = _status_mb("VmRSS")
    t = time.perf_counter()
    man = build("paper", Path(corpus), Path(out), num_proc=procs, progress=False)
    n = sum(v["records"] for k, v in man["outputs"].items() if k.startswith("stage"))
    return {"instructions": n, "seconds": time.perf_counter() - t, "rss_before_mb": rss0,
            "rss_mb": _status_mb("VmHWM"), "worker_rss_mb": _workers_mb() if procs > 1 else 0.0}


# ---------------------------------------------------------------------------------------------- parent


def _burn(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i
    return x


def cpu_control(procs: int = 2, n: int = 6_000_000) -> float:
    """Wall-clock speedup of ``procs`` processes over one on pure-Python arithmetic: what this machine can give
    a process pool right now (1.0 when the other cores are busy), to read ``encode_speedup_2proc`` against."""
    import multiprocessing as mp

    times = []
    for p in (1, procs):
        t = time.perf_counter()
        with mp.get_context("fork").Pool(p) as pool:
            pool.map(_burn, [n] * 4)
        times.append(time.perf_counter() - t)
    return times[0] / times[1]



def synthetic(src: Path, dest: Path, n: int, shard: int = 100_000) -> tuple[Path, int]:
    """``n`` instructions: the build's records repeated under new ids, in shards of ``shard`` records."""
    from taiyi.files import dumps, read_jsonl, shard_name

    recs = list(read_jsonl(src))
    dest.mkdir(parents=True, exist_ok=True)
    total = -(-n // shard)
    nbytes = 0
    for s in range(total):
        with open(shard_name(dest / "stage2.jsonl", s, total), "wb") as fh:
            for i in range(s * shard, min(n, (s + 1) * shard)):
                r = recs[i % len(recs)]
                line = dumps({**r, "id": f"{r['id']}~{i // len(recs)}"} if i >= len(recs) else r) + b"\n"
                fh.write(line)
                nbytes += len(line)
    return dest / "stage2.jsonl", nbytes


def head(src: Path, dest: Path, n: int) -> Path:
    from taiyi.files import expand_shards

    with open(dest, "wb") as out:
        k = 0
        for p in expand_shards(src):
            with open(p, "rb") as fh:
                for line in fh:
                    if k >= n:
                        return dest
                    out.write(line)
                    k += 1
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_001_788)
    ap.add_argument("--sample", type=int, default=10_000)
    ap.add_argument("--per-split", type=int, default=300, help="records per split of the corpus timed with 1 and 2 procs")
    ap.add_argument("--mem-per-split", type=int, default=20, help="records per split of the 1x corpus of the memory check")
    ap.add_argument("--num-proc", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--child", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        fn = {"encode": lambda: child_encode(rest[0], rest[1], rest[2], rest[3], int(rest[4]), int(rest[5])),
              "train": lambda: child_train(rest[0], rest[1], rest[2], rest[3], int(rest[4]), int(rest[5]),
                                           int(rest[6]), rest[7] == "epoch"),
              "build": lambda: child_build(rest[0], rest[1], int(rest[2]))}[kind]
        print(json.dumps(fn()))
        return
    tmpobj = None if args.workdir else tempfile.TemporaryDirectory(prefix="bench-scale-")
    tmp = args.workdir or Path(tmpobj.name)
    tmp.mkdir(parents=True, exist_ok=True)
    log = lambda msg: print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    from build import convert, scaled_corpus

    full = args.corpus or convert(tmp)
    c1 = scaled_corpus(full, tmp / "c1", args.per_split, 1)
    m1 = scaled_corpus(full, tmp / "m1", args.mem_per_split, 1)
    c10 = scaled_corpus(full, tmp / "c10", args.mem_per_split, 10)
    b1 = _child("build", str(c1), str(tmp / "b1"), "1")
    b2 = _child("build", str(c1), str(tmp / "b2"), "2")
    bm = _child("build", str(m1), str(tmp / "bm"), "1")
    b10 = _child("build", str(c10), str(tmp / "b10"), "1")
    log(f"build: {b1['instructions']} instructions, 1 proc {b1['seconds']:.1f}s, 2 procs {b2['seconds']:.1f}s; "
        f"peak RSS {bm['rss_mb']:.0f} MB at 1x, {b10['rss_mb']:.0f} MB at 10x ({b10['instructions']} instructions "
        f"in {b10['seconds']:.0f}s)")

    data, nbytes = synthetic(tmp / "b1" / "stage2.jsonl", tmp / "big", args.n)
    log(f"synthetic set: {args.n} instructions, {nbytes / 2**20:.0f} MB of JSONL in {len(list((tmp / 'big').iterdir()))} shards")
    from taiyi.train.chat_format import iter_texts
    from taiyi.train.tiny_model import build_tiny_model

    model = tmp / "model"
    if not (model / "config.json").is_file():
        sample_file = head(data, tmp / "tok_sample.jsonl", 5000)
        build_tiny_model(model, list(iter_texts([sample_file])), size="tiny")
    sample = head(data, tmp / "sample.jsonl", min(args.sample, args.n))
    ml = str(args.max_length)
    inmem = _child("encode", "inmemory", str(sample), str(model), str(tmp / "x"), "1", ml)
    # best of two runs each (as timeit does): the figure is what the code can do, not the noisiest moment
    one = min((_child("encode", "cache", str(sample), str(model), str(tmp / f"cache1{s}"), "1", ml) for s in ("", "b")),
              key=lambda r: r["seconds"])
    control = cpu_control()
    two = min((_child("encode", "cache", str(sample), str(model), str(tmp / f"cache2{s}"), "2", ml) for s in ("", "b")),
              key=lambda r: r["seconds"])
    log(f"encode {inmem['records']} records: in-memory {inmem['records'] / inmem['seconds']:.0f}/s "
        f"(RSS {inmem['rss_mb']:.0f} MB), cache 1 proc {one['records'] / one['seconds']:.0f}/s, "
        f"2 procs {two['records'] / two['seconds']:.0f}/s")
    big = _child("encode", "cache", str(data), str(model), str(tmp / "cache"), str(args.num_proc), ml)
    log(f"encode all {big['records']} records with {args.num_proc} procs: {big['seconds']:.0f}s "
        f"({big['records'] / big['seconds']:.0f}/s), RSS {big['rss_mb']:.0f} MB, workers {big['worker_rss_mb']:.0f} MB")
    train = _child("train", str(data), str(model), str(tmp / "cache"), str(tmp / "runs"), str(args.steps), ml,
                   "1", "epoch")
    log(f"cache-hit run: first step after {train['start_s']:.1f}s (cache opened in {train['open_s']:.1f}s); RSS "
        f"{train['rss_train_mb']:.0f} MB after {args.steps} steps, {train['rss_epoch_mb']:.0f} MB after reading the "
        f"whole epoch ({train['epoch_read_s']:.0f}s), anon {train['rss_anon_mb']:.0f} MB, cache pages resident "
        f"<= {train['mapped_mb']:.0f} MB of {train['cache_mb']:.0f} MB")
    small = _child("train", str(sample), str(model), str(tmp / "cache1"), str(tmp / "runs_small"), str(args.steps), ml,
                   "1", "epoch")
    wide = _child("train", str(sample), str(model), str(tmp / "cache1"), str(tmp / "runs_mb8"), str(args.steps), ml,
                  "8", "steps")
    log(f"same run on the {one['records']}-record sample: RSS {small['rss_epoch_mb']:.0f} MB; with 8 examples per "
        f"forward pass instead of 1 (activations in host memory on CPU): {wide['rss_train_mb']:.0f} MB")

    per_tok = (inmem["rss_mb"] - inmem["rss_before_mb"]) / max(1, inmem["tokens"])  # what the examples add
    print(json.dumps({
        "bench": "scale", "n_instructions": big["records"], "tokens": big["tokens"],
        "kept": big["kept"], "mean_tokens": round(big["tokens"] / max(1, big["kept"]), 1),
        "build_ips_1proc": round(b1["instructions"] / b1["seconds"], 1),
        "build_ips_2proc": round(b2["instructions"] / b2["seconds"], 1),
        "build_speedup_2proc": round(b1["seconds"] / b2["seconds"], 3),
        "build_instructions": b1["instructions"], "build_mem_per_split": args.mem_per_split,
        "build_instructions_mem_1x": bm["instructions"], "build_instructions_mem_10x": b10["instructions"],
        "build_rss_mb_1x": round(bm["rss_mb"], 1), "build_rss_mb_10x": round(b10["rss_mb"], 1),
        "build_rss_growth_mb_1x": round(bm["rss_mb"] - bm["rss_before_mb"], 1),
        "build_rss_growth_mb_10x": round(b10["rss_mb"] - b10["rss_before_mb"], 1),
        "build_mem_ratio_10x": round(b10["rss_mb"] / max(1e-9, bm["rss_mb"]), 3),
        "encode_sample": one["records"],
        "inmemory_rps": round(inmem["records"] / inmem["seconds"], 1),
        "cache_rps_1proc": round(one["records"] / one["seconds"], 1),
        "cache_rps_2proc": round(two["records"] / two["seconds"], 1),
        "encode_speedup_2proc": round(one["seconds"] / two["seconds"], 3),
        "cpu_control_speedup_2proc": round(control, 3),
        "encode_cpu_s_per_1k_1proc": round(1000 * one["cpu_s"] / one["records"], 2),
        "encode_cpu_s_per_1k_2proc": round(1000 * two["cpu_s"] / two["records"], 2),
        "cache_rps_full": round(big["records"] / big["seconds"], 1), "cache_full_s": round(big["seconds"], 1),
        "cache_full_rss_mb": round(big["rss_mb"], 1), "cache_full_worker_rss_mb": round(big["worker_rss_mb"], 1),
        "inmemory_rss_mb": round(inmem["rss_mb"], 1), "inmemory_rss_records": inmem["records"],
        "inmemory_bytes_per_token": round(per_tok * 2**20, 1),
        "inmemory_rss_mb_est_at_n": round(inmem["rss_before_mb"] + per_tok * big["tokens"], 0),
        "cache_hit_start_s": round(train["start_s"], 2), "cache_hit": train["hit"],
        "train_rss_mb": round(train["rss_epoch_mb"], 1), "train_rss_mb_after_steps": round(train["rss_train_mb"], 1),
        "train_rss_anon_mb": round(train["rss_anon_mb"], 1), "train_cache_resident_mb": round(train["mapped_mb"], 1),
        "cache_mb": round(train["cache_mb"], 1), "cache_open_s": round(train["open_s"], 2),
        "epoch_read_s": round(train["epoch_read_s"], 1),
        "train_rss_mb_sample": round(small["rss_epoch_mb"], 1), "train_sample_records": one["records"],
        "train_micro_batch": 1, "train_rss_mb_sample_micro8": round(wide["rss_train_mb"], 1),
        "loadavg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
