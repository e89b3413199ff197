"""Benchmark `taiyi build`: instructions/s beside plain JSON read+write of the same records, and peak memory at
1x and 10x corpus size (the build streams, so peak memory must not grow with the corpus).

Corpus: ../shared/datasets converted with taiyi.sources.convert.convert_all into a temp dir (the embedded mini
corpus when the shared datasets are absent). To keep the run short on a 2-core machine, each training split is
cut to --per-split records (the 1x corpus); the 10x corpus repeats every record 10 times under new ids.
Ends with one JSON line.

Usage: .venv/bin/python bench/build.py [--per-split 300] [--num-proc 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TAIYI_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def convert(tmp: Path) -> Path:
    from taiyi.sources import convert as conv

    out = tmp / "full"
    if SHARED.is_dir():
        conv.convert_all(SHARED, out, progress=False)
    else:
        conv.convert_mini(out, progress=False)
    return out


def scaled_corpus(full: Path, dest: Path, per_split: int, times: int) -> Path:
    """Copy ``full`` with every non-meta split cut to per_split records, each repeated ``times`` under new ids."""
    from taiyi.files import dumps, read_jsonl

    for d in sorted(p for p in full.iterdir() if (p / "meta.json").is_file()):
        (dest / d.name).mkdir(parents=True)
        shutil.copy(d / "meta.json", dest / d.name / "meta.json")
        for f in d.glob("*.jsonl"):
            recs = list(itertools.islice(read_jsonl(f), per_split))
            with open(dest / d.name / f.name, "wb") as fh:
                for k in range(times):
                    for r in recs:
                        if k and f.stem == "train":
                            r = {**r, "id": f"{r['id']}~{k}"}
                        elif k:
                            continue  # evaluation splits are not scaled
                        fh.write(dumps(r) + b"\n")
    return dest


def baseline(corpus: Path, out: Path) -> tuple[int, float]:
    """Plain json read + write of the training records the build reads."""
    t = time.perf_counter()
    n = 0
    with open(out, "w", encoding="utf-8") as w:
        for f in sorted(corpus.glob("*/train.jsonl")):
            with open(f, encoding="utf-8") as r:
                for line in r:
                    w.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")
                    n += 1
    return n, time.perf_counter() - t


def run_build(corpus: Path, out: Path, num_proc: int, trace: bool) -> tuple[int, float, float]:
    from taiyi.instructions.build import build

    if trace:
        tracemalloc.start()
        tracemalloc.reset_peak()
    t = time.perf_counter()
    man = build("paper", corpus, out, num_proc=num_proc, progress=False)
    dt = time.perf_counter() - t
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    n = sum(v["records"] for k, v in man["outputs"].items() if k.startswith("stage"))
    return n, dt, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-split", type=int, default=300)
    ap.add_argument("--num-proc", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        tmp = Path(tmp)
        full = convert(tmp)
        c1 = scaled_corpus(full, tmp / "c1", args.per_split, 1)
        c10 = scaled_corpus(full, tmp / "c10", args.per_split, 10)
        n_inst, dt, _ = run_build(c1, tmp / "o1", args.num_proc, trace=False)
        n_rec, dt_base = baseline(c1, tmp / "base.jsonl")
        _, _, peak1 = run_build(c1, tmp / "o1t", 1, trace=True)
        n10, dt10, peak10 = run_build(c10, tmp / "o10", 1, trace=True)
        ours = n_inst / dt
        base = n_rec / dt_base
        print(f"corpus: {'shared datasets' if SHARED.is_dir() else 'mini'}, {n_rec} training records at 1x "
              f"(<= {args.per_split} per split); build wrote {n_inst} stage records in {dt:.2f}s; "
              f"json read+write {n_rec} records in {dt_base:.3f}s; 10x build {dt10:.1f}s (traced) wrote {n10}",
              file=sys.stderr)
        print(json.dumps({"bench": "build", "ours": round(ours, 1), "baseline": round(base, 1),
                          "unit": "instructions/s", "ratio": round(ours / base, 4),
                          "peak_mb_1x": round(peak1, 1), "peak_mb_10x": round(peak10, 1)}))


if __name__ == "__main__":
    main()
