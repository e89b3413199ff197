"""``taiyi eval --export-items`` / ``--predictions`` on the real test sets (../shared/datasets): oracle answers
score 100, answers missing for 10 % of the ids are counted as failures, bad lines are one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.evaluate import registry, runner
from taiyi.files import read_json, read_jsonl
from taiyi.instructions.tasks.registry import get_task

BENCHES = ("PubMedQA", "NCBI-disease")


def run_cli(*args: str, code: int = 0):
    res = CliRunner().invoke(app, ["eval", *args, "--no-progress"], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


@pytest.fixture(scope="module")
def real_items(shared_datasets):
    datasets = {}
    return {b.name: runner.load_items(b, data_root=shared_datasets, datasets=datasets, limit=60)
            for b in registry.select(list(BENCHES))}


def _oracle_rows(items):
    return [{"benchmark": b, "id": it.id, "answer": get_task(it.task).render(it.target, it.meta)}
            for b, its in items.items() for it in its]


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_export_writes_prompts_without_gold(real_items, shared_datasets, tmp_path):
    out = tmp_path / "items"
    run_cli("--export-items", str(out), "--benchmarks", ",".join(BENCHES), "--data-root", str(shared_datasets),
            "--limit", "60", "--eval-dir", str(tmp_path / "none"))
    for b, its in real_items.items():
        rows = list(read_jsonl(out / f"{b}.jsonl"))
        assert [r["id"] for r in rows] == [it.id for it in its]
        assert all(r["messages"][-1]["role"] == "user" and "target" not in r for r in rows)
    assert all("choices" in r for r in read_jsonl(out / "PubMedQA.jsonl"))


def test_oracle_predictions_score_100_and_missing_ids_are_failures(real_items, shared_datasets, tmp_path):
    rows = _oracle_rows(real_items)
    common = ("--data-root", str(shared_datasets), "--limit", "60", "--eval-dir", str(tmp_path / "none"))
    run_cli("--predictions", str(_write(tmp_path / "oracle.jsonl", rows)), "--out", str(tmp_path / "o"), *common)
    scores = read_json(tmp_path / "o" / "scores.json")
    assert set(scores["benchmarks"]) == set(BENCHES)
    for b, res in scores["benchmarks"].items():
        assert res["score"] == 100.0 and res["missing"] == 0 and res["parse_failures"] == 0, b

    qa = [r for r in rows if r["benchmark"] == "PubMedQA"]
    dropped = {r["id"] for r in qa[::10]}  # 10 % of the ids
    kept = [r for r in rows if r["id"] not in dropped]
    run_cli("--predictions", str(_write(tmp_path / "partial.jsonl", kept)), "--out", str(tmp_path / "p"), *common)
    res = read_json(tmp_path / "p" / "scores.json")["benchmarks"]["PubMedQA"]
    assert res["missing"] == len(dropped) == 6
    assert res["n_items"] == len(qa) and res["parse_failures"] == len(dropped)
    assert res["score"] == pytest.approx(100.0 * (len(qa) - len(dropped)) / len(qa))
    assert "missing from" in res["parse_failure_examples"][0]["error"]


@pytest.mark.parametrize("line,needle", [
    ("{not json", "malformed JSON"),
    ('{"benchmark": "PubMedQA", "id": "x"}', "missing field(s) ['answer']"),
    ('{"benchmark": "NoSuch", "id": "x", "answer": "yes"}', "unknown benchmark 'NoSuch'"),
    ('{"benchmark": "PubMedQA", "id": 3, "answer": "yes"}', "must be strings"),
])
def test_bad_lines_are_one_line_errors_naming_file_and_line(tmp_path, line, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"benchmark": "PubMedQA", "id": "a", "answer": "yes"}\n' + line + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "--predictions", str(path), "--out", str(tmp_path / "r"), "--no-progress"])
    assert res.exit_code == 2, res.output
    err = res.output.strip()
    assert err.count("\n") == 0 and f"{path}:2:" in err and needle in err, err


def test_repeated_id_is_an_error(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text('{"benchmark": "PubMedQA", "id": "a", "answer": "yes"}\n' * 2, encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "--predictions", str(path), "--out", str(tmp_path / "r"), "--no-progress"])
    assert res.exit_code == 2 and f"{path}:2: id 'a' of PubMedQA appears twice" in res.output
