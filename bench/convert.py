"""Benchmark: `taiyi convert --all` on ../shared/datasets vs merely reading and writing the same bytes as JSON.

ours     = records / seconds of convert_all (parse, validate, write JSONL, hash inputs, manifest)
baseline = the same record count / seconds to read every input file the conversion read and write its
           text back out as JSON (one object per file): the I/O floor of any converter.
Ends with one JSON line: {"bench": "convert", "ours": ..., "baseline": ..., "unit": "records/s", "ratio": ...}.
Usage: python bench/convert.py [DATA_ROOT]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from taiyi.files import read_json  # noqa: E402
from taiyi.sources.convert import convert_all  # noqa: E402


def input_files(manifest: dict) -> list[Path]:
    files: list[Path] = []
    for item in manifest["inputs"]:
        p = Path(item["path"])
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return files


def baseline(files: list[Path], out: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    n_bytes = 0
    with open(out, "wb") as fh:
        for f in files:
            data = f.read_bytes()
            n_bytes += len(data)
            fh.write(orjson.dumps({"path": str(f), "text": data.decode("utf-8", errors="replace")}))
            fh.write(b"\n")
    return time.perf_counter() - t0, n_bytes


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get("TAIYI_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        summary = convert_all(root, out, progress=False)
        ours_s = time.perf_counter() - t0
        records = summary["records"]
        files = input_files(read_json(out / "manifest.json"))
        base_s, n_bytes = baseline(files, Path(tmp) / "baseline.jsonl")
    ours, base = records / ours_s, records / base_s
    print(f"converted {len(summary['converted'])} datasets, {records:,} records from {len(files):,} files "
          f"({n_bytes / 1e6:.1f} MB) in {ours_s:.2f} s; read+write as JSON took {base_s:.2f} s", file=sys.stderr)
    print(orjson.dumps({"bench": "convert", "ours": round(ours, 1), "baseline": round(base, 1), "unit": "records/s",
                        "ratio": round(ours / base, 4), "seconds": round(ours_s, 2),
                        "baseline_seconds": round(base_s, 3), "records": records}).decode())


if __name__ == "__main__":
    main()
