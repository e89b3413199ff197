"""Taiyi released format round-trips; LLaMA-Factory export is loadable as its sharegpt/messages format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taiyi.files import DataError, read_json, read_jsonl, write_jsonl
from taiyi.instructions import interop

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "taiyi_instruction_data_example.jsonl"


@pytest.fixture
def example() -> Path:
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not found")
    return EXAMPLE


def test_round_trip_on_released_example(example, tmp_path):
    ours, back = tmp_path / "ours.jsonl", tmp_path / "back.jsonl"
    n = interop.import_taiyi(example, ours)
    assert n == 21
    recs = list(read_jsonl(ours))
    assert {r["task"] for r in recs} >= {"mt", "cls", "re", "ner"}
    assert all(r["lang"] in ("zh", "en", "zh-en") for r in recs)
    assert recs[0]["messages"][0]["role"] == "user" and recs[0]["messages"][1]["role"] == "assistant"
    interop.export_taiyi(ours, back)
    orig = [json.loads(l) for l in example.read_text(encoding="utf-8").splitlines() if l.strip()]
    got = list(read_jsonl(back))
    assert got == orig
    assert [list(g) for g in got] == [list(o) for o in orig]  # key order kept too


def test_export_of_built_records_and_bad_input(tmp_path):
    rec = {"id": "x", "dataset": "bc5cdr", "task": "ner", "lang": "en", "stage": "1", "template_id": "t",
           "document_id": "1", "meta": {}, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    write_jsonl(tmp_path / "s.jsonl", [rec])
    interop.export_taiyi(tmp_path / "s.jsonl", tmp_path / "t.jsonl")
    [t] = read_jsonl(tmp_path / "t.jsonl")
    assert t == {"conversation_id": 1, "dataset": "bc5cdr", "category": "NER", "language": "en",
                 "conversation": [{"human": "q", "assistant": "a"}]}
    write_jsonl(tmp_path / "bad.jsonl", [{"conversation_id": 1, "dataset": "d", "category": "TC", "language": "zh", "conversation": [{"human": "x"}]}])
    with pytest.raises(DataError, match=r"bad.jsonl:1: conversation\[0\]"):
        interop.import_taiyi(tmp_path / "bad.jsonl", tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()


def test_llamafactory_export(tmp_path):
    src = tmp_path / "instructions"
    rec = {"id": "x", "dataset": "d", "task": "ner", "lang": "en", "stage": "1", "template_id": "t", "document_id": "1",
           "meta": {}, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    write_jsonl(src / "stage1.jsonl", [rec])
    write_jsonl(src / "stage2.jsonl", [rec, rec])
    write_jsonl(src / "eval" / "HoC.jsonl", [{**rec, "target": ["x"]}])
    info = interop.export_llamafactory(src, tmp_path / "lf")
    assert set(info) == {"taiyi_stage1", "taiyi_stage2", "taiyi_eval_HoC"}
    disk = read_json(tmp_path / "lf" / "dataset_info.json")
    assert disk == info and disk["taiyi_stage1"]["formatting"] == "sharegpt"
    assert disk["taiyi_stage1"]["columns"] == {"messages": "messages"}
    assert disk["taiyi_stage1"]["tags"]["role_tag"] == "role"
    rows = list(read_jsonl(tmp_path / "lf" / disk["taiyi_stage2"]["file_name"]))
    assert len(rows) == 2 and rows[0]["messages"][2] == {"role": "assistant", "content": "a"}
    with pytest.raises(DataError, match="no stage"):
        interop.export_llamafactory(tmp_path / "empty", tmp_path / "lf2")
