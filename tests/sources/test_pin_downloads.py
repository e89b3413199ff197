"""Tests of bench/pin_downloads.py: pins written by matching local files to an origin commit by content."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from taiyi.sources import download as dl

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("pin_downloads", REPO / "bench" / "pin_downloads.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_pins_follow_moves_renames_and_archives(tmp_path):
    pytest.importorskip("yaml")
    origin = tmp_path / "clones" / "org+corpus" / "repo"
    files = {"data/std/a.txt": b"alpha\n", "data/std/b.txt": b"beta\n", "release/final_test.tsv": b"t\t1\n"}
    for rel, data in files.items():
        (origin / rel).parent.mkdir(parents=True, exist_ok=True)
        (origin / rel).write_bytes(data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("docs/d1.txt")
        info.size = 6
        t.addfile(info, io.BytesIO(b"delta\n"))
    (origin / "data" / "docs.tar.gz").write_bytes(buf.getvalue())
    _git("init", "-q", cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", cwd=origin)
    commit = _git("rev-parse", "HEAD", cwd=origin)
    local = tmp_path / "data" / "my_corpus"
    for rel, data in {"std/a.txt": b"alpha\n", "std/b.txt": b"beta\n", "test.tsv": b"t\t1\n",
                      "extracted/docs/d1.txt": b"delta\n", "mine.txt": b"edited\n"}.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_bytes(data)
    (local / "SOURCE.md").write_text(f"| files | `org/corpus` @ `{commit}` | data/ |\n")
    pin = dl.Pin.model_validate(_tool().pin_folder(tmp_path / "data", "my_corpus", tmp_path / "clones"))
    src = pin.sources[0]
    assert (src.repo, src.commit) == ("org/corpus", commit)
    urls = {j.rel: j.url for j in dl.jobs(pin)}
    base = f"https://raw.githubusercontent.com/org/corpus/{commit}/"
    assert urls["std/a.txt"] == base + "data/std/a.txt" and urls["test.tsv"] == base + "release/final_test.tsv"
    (arc,) = src.archives
    assert (arc.from_, arc.into, list(arc.members)) == ("data/docs.tar.gz", "extracted/", ["docs/d1.txt"])
    assert list(pin.not_pinned) == ["mine.txt"]
