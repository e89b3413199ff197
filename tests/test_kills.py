"""Kills: ``taiyi convert`` and ``taiyi build`` killed with SIGKILL while writing leave the previous output
byte-for-byte unchanged; the next run succeeds, gives the same output, and removes the killed run's temp folder.
(Training checkpoints under kills are tested with the trainer, tests/train.)"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taiyi.files import TMP_TAG, _host, atomic_dir, clean_stale_temps

REPO = Path(__file__).resolve().parents[1]


def _digest(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


def _temps(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def _taiyi(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TOKENIZERS_PARALLELISM="false")
    return subprocess.Popen([sys.executable, "-c", "from taiyi.cli import main; main()", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def _ok(*args: str) -> None:
    proc = _taiyi(*args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]


def _kill_while_writing(args: list[str], out: Path, ready, tries: int = 3) -> Path:
    """Start ``taiyi *args``; SIGKILL it once its temp folder beside ``out`` satisfies ``ready``; return the temp."""
    for _ in range(tries):
        proc = _taiyi(*args)
        deadline = time.monotonic() + 120
        temp = None
        while proc.poll() is None and time.monotonic() < deadline:
            temp = next((p for p in _temps(out) if TMP_TAG in p.name and ready(p)), None)
            if temp is not None:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.communicate(timeout=60)
        if temp is not None and proc.returncode == -signal.SIGKILL:
            assert temp.exists(), "the killed run left no temp folder: was it killed mid-write?"
            return temp
    pytest.fail(f"could not kill `taiyi {' '.join(args)}` while it was writing")


@pytest.fixture()
def data_root(shared_datasets, tmp_path) -> Path:
    """A data root holding two real datasets (BC5CDR, HoC) of ../shared/datasets, linked, not copied."""
    root = tmp_path / "raw"
    root.mkdir()
    for name in ("BC5CDR", "HoC"):
        (root / name).symlink_to(shared_datasets / name, target_is_directory=True)
    return root


def test_killed_convert_leaves_the_corpus_as_it_was(data_root, tmp_path):
    corpus = tmp_path / "corpus"
    args = ["convert", "--all", "--input-root", str(data_root), "--out", str(corpus)]
    _ok(*args)
    before = _digest(corpus)
    assert any(k.startswith("bc5cdr/") for k in before) and any(k.startswith("hallmarks_of_cancer/") for k in before)
    _kill_while_writing(args, corpus, ready=lambda t: any(t.iterdir()))
    assert _digest(corpus) == before
    _ok(*args)
    assert _digest(corpus, skip=("manifest.json",)) == {k: v for k, v in before.items() if k != "manifest.json"}
    assert _temps(corpus) == [], "the killed run's temp folder was not cleaned"


def test_killed_build_leaves_the_instructions_as_they_were(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "instructions"
    _ok("convert", "--mini", "--out", str(corpus))
    args = ["build", "--config", "demo", "--corpus", str(corpus), "--out", str(out), "-q"]
    _ok(*args)
    before = _digest(out)
    assert before["stage1.jsonl"] != hashlib.sha256(b"").hexdigest()
    _kill_while_writing(args, out, ready=lambda t: (t / "stage1.jsonl").is_file())
    assert _digest(out) == before
    _ok(*args)
    skip = ("manifest.json", "stats.md")
    assert _digest(out, skip) == {k: v for k, v in before.items() if k not in skip}
    assert _temps(out) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_are_cleaned_and_live_ones_kept(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "a.jsonl").write_text("{}\n")
    dead, live = _dead_pid(), os.getpid()
    stale = tmp_path / f".corpus.{TMP_TAG}-{dead}-{_host()}-x1"
    running = tmp_path / f".corpus.{TMP_TAG}-{live}-{_host()}-x2"
    elsewhere = tmp_path / f".corpus.{TMP_TAG}-{dead}-otherhost-x3"  # a pid of another machine is not ours to judge
    old_done = tmp_path / f".corpus.old-{dead}-{_host()}"
    for p in (stale, running, elsewhere, old_done):
        p.mkdir()
        (p / "a.jsonl").write_text("partial")
    assert sorted(clean_stale_temps(out)) == sorted([stale, old_done])
    assert running.exists() and elsewhere.exists() and (out / "a.jsonl").read_text() == "{}\n"


def test_a_kill_between_the_two_renames_restores_the_old_output(tmp_path):
    """Killed after moving the old output aside and before moving the new one in: the old one comes back."""
    out = tmp_path / "instructions"
    aside = tmp_path / f".instructions.old-{_dead_pid()}-{_host()}"
    aside.mkdir()
    (aside / "stage1.jsonl").write_text("good\n")
    half = tmp_path / f".instructions.{TMP_TAG}-{_dead_pid()}-{_host()}-zz"
    half.mkdir()
    with atomic_dir(out) as tmp:  # the next run starts: it puts the old output back first
        assert (out / "stage1.jsonl").read_text() == "good\n" and not half.exists()
        (tmp / "stage1.jsonl").write_text("new\n")
    assert (out / "stage1.jsonl").read_text() == "new\n" and _temps(out) == []
