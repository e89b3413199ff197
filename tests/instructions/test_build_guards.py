"""`taiyi build` never replaces good instructions with less: an empty corpus is an error (unless --allow-empty),
and corpus records are checked with convert's validators, so a broken record is named by file and line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from taiyi.cli import main


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _taiyi(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return exit_.value.code, out.out + out.err


@pytest.fixture()
def built(tmp_path, capsys):
    """The embedded mini corpus converted, and instructions built from it."""
    corpus, out = tmp_path / "corpus", tmp_path / "instructions"
    assert _taiyi(capsys, "convert", "--mini", "--out", str(corpus))[0] in (0, None)
    code, text = _taiyi(capsys, "build", "--config", "demo", "--corpus", str(corpus), "--out", str(out), "-q")
    assert code in (0, None), text
    return corpus, out


def test_empty_corpus_keeps_the_old_instructions(built, tmp_path, capsys):
    _, out = built
    before = _digest(out)
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    code, text = _taiyi(capsys, "build", "--config", "demo", "--corpus", str(empty), "--out", str(out), "-q")
    assert code == 1 and "no training instructions" in text and "--allow-empty" in text and "Traceback" not in text
    assert _digest(out) == before
    assert not [p for p in tmp_path.iterdir() if "taiyi-tmp" in p.name]
    code, text = _taiyi(capsys, "build", "--config", "demo", "--corpus", str(empty), "--out", str(out), "-q",
                        "--allow-empty")
    assert code in (0, None), text
    assert (out / "stage1.jsonl").read_bytes() == b""  # asked for: written


def test_every_record_dropped_is_an_error_too(built, tmp_path, capsys):
    corpus, out = built
    before = _digest(out)
    cfg = tmp_path / "tiny-budget.yaml"
    cfg.write_text("max_tokens: 5\n", encoding="utf-8")
    code, text = _taiyi(capsys, "build", "--config", str(cfg), "--corpus", str(corpus), "--out", str(out), "-q")
    assert code == 1 and "too_long" in text and _digest(out) == before


def test_corpus_records_are_validated_as_convert_does(built, capsys):
    corpus, out = built
    before = _digest(out)
    path = corpus / "mini_litcovid" / "train.jsonl"
    lines = path.read_bytes().splitlines()
    rec = orjson.loads(lines[2])
    del rec["labels"]  # would otherwise be taught as "none of these categories"
    lines[2] = orjson.dumps(rec)
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, text = _taiyi(capsys, "build", "--config", "demo", "--corpus", str(corpus), "--out", str(out), "-q")
    assert code == 1 and "Traceback" not in text
    assert f"{path}:3" in text and "labels" in text, text
    assert _digest(out) == before
