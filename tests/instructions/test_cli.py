"""The instructions CLI: taiyi build, import/export commands, clear errors."""

from __future__ import annotations

from typer.testing import CliRunner

from . import fake_codec
from taiyi.cli import app
from taiyi.files import read_jsonl, write_jsonl
from .test_build import make_corpus

runner = CliRunner()


def test_build_command(tmp_path, monkeypatch):
    fake_codec.install(monkeypatch)
    corpus = make_corpus(tmp_path)
    out = tmp_path / "instructions"
    res = runner.invoke(app, ["build", "--corpus", str(corpus), "--out", str(out), "--seed", "3", "-q"])
    assert res.exit_code == 0, res.output
    assert "stage 1:" in res.output and (out / "stage1.jsonl").is_file() and (out / "stats.md").is_file()
    res = runner.invoke(app, ["instructions", "export-llamafactory", str(out), str(tmp_path / "lf")])
    assert res.exit_code == 0 and (tmp_path / "lf" / "dataset_info.json").is_file()
    res = runner.invoke(app, ["instructions", "export-taiyi", str(out / "stage1.jsonl"), str(tmp_path / "t.jsonl")])
    assert res.exit_code == 0
    res = runner.invoke(app, ["instructions", "import-taiyi", str(tmp_path / "t.jsonl"), str(tmp_path / "back.jsonl")])
    assert res.exit_code == 0
    assert [r["messages"] for r in read_jsonl(tmp_path / "back.jsonl")] == [r["messages"] for r in read_jsonl(out / "stage1.jsonl")]


def test_errors_are_one_clear_line(tmp_path):
    res = runner.invoke(app, ["build", "--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "does not exist" in res.output
    res = runner.invoke(app, ["build", "--config", "no_such_config", "--corpus", str(tmp_path)])
    assert res.exit_code == 1 and "no such file" in res.output
    write_jsonl(tmp_path / "bad.jsonl", [{"conversation_id": 1}])
    res = runner.invoke(app, ["instructions", "import-taiyi", str(tmp_path / "bad.jsonl"), str(tmp_path / "x.jsonl")])
    assert res.exit_code == 1 and "bad.jsonl:1" in res.output


def test_benchmarks_listing():
    res = runner.invoke(app, ["instructions", "benchmarks"])
    assert res.exit_code == 0 and "BioRED" in res.output and "zero-shot" in res.output
