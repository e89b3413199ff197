"""BigBio-hub reader on local Parquet / JSONL files in BigBio's schemas, loaded through ``datasets``."""

from __future__ import annotations

import json

import pytest

from taiyi.corpus.schema import document_text, validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader

KB = {
    "id": "0", "document_id": "227508",
    "passages": [{"id": "p0", "type": "title", "text": ["Naloxone reverses clonidine."], "offsets": [[0, 28]]},
                 {"id": "p1", "type": "abstract", "text": ["It lowers blood pressure."], "offsets": [[29, 54]]}],
    "entities": [{"id": "e1", "type": "Chemical", "text": ["Naloxone"], "offsets": [[0, 8]],
                  "normalized": [{"db_name": "MESH", "db_id": "D009270"}]},
                 {"id": "e2", "type": "Chemical", "text": ["clonidine"], "offsets": [[18, 27]], "normalized": []}],
    "events": [], "coreferences": [],
    "relations": [{"id": "r1", "type": "CID", "arg1_id": "e1", "arg2_id": "e2", "normalized": []}],
}


def _parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)


def test_kb_parquet(tmp_path):
    second = json.loads(json.dumps(KB))
    second["id"], second["document_id"], second["relations"] = "1", "999", []
    _parquet(tmp_path / "train.parquet", [KB, second])
    _parquet(tmp_path / "validation.parquet", [KB])
    recs = list(get_reader("bigbio")(tmp_path, data_files={"train": "train.parquet", "validation": "validation.parquet"},
                                     cache_dir=str(tmp_path / "cache")))
    assert validate_records(recs) == []
    assert [(r["split"], r["id"]) for r in recs] == [("train", "train-0"), ("train", "train-1"), ("dev", "dev-0")]
    r = recs[0]
    assert r["schema"] == "kb" and document_text(r) == "Naloxone reverses clonidine. It lowers blood pressure."
    assert r["entities"][0]["normalized"] == [{"db_name": "MESH", "db_id": "D009270"}]
    assert r["relations"][0]["arg2_id"] == "e2"


def test_qa_and_pairs_jsonl(tmp_path):
    qa = [{"id": "q1", "question_id": "q1", "document_id": "d1", "question": "Is it?", "type": "yesno",
           "choices": ["yes", "no", "maybe"], "context": "It is.", "answer": ["yes"]},
          {"id": "q2", "question_id": "q2", "document_id": "d2", "question": "Which genes?", "type": "list",
           "choices": [], "context": "", "answer": ["BRCA1", "TP53"]}]
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(x) for x in qa) + "\n")
    recs = list(get_reader("bigbio")(tmp_path, data_files={"test": "qa.jsonl"}, cache_dir=str(tmp_path / "c")))
    assert validate_records(recs) == []
    assert [r["type"] for r in recs] == ["yesno", "factoid"] and recs[1]["answer"] == ["BRCA1", "TP53"]
    pairs = [{"id": "1", "document_id": "1", "text_1": "A binds B.", "text_2": "B is bound by A.", "label": "entailment"}]
    (tmp_path / "p.jsonl").write_text(json.dumps(pairs[0]) + "\n")
    recs = list(get_reader("bigbio")(tmp_path, data_files={"train": "p.jsonl"}, cache_dir=str(tmp_path / "c")))
    assert recs[0]["schema"] == "pairs" and recs[0]["label"] == "entailment" and validate_records(recs) == []


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=r"missing\.parquet: BigBio file for split 'train' not found"):
        list(get_reader("bigbio")(tmp_path, data_files={"train": "missing.parquet"}))
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "text": "x", "labels": []}\n{"id": "2", "text": \n')
    with pytest.raises(DataError, match=r"bad\.jsonl.*cannot load"):
        list(get_reader("bigbio")(tmp_path, data_files={"train": "bad.jsonl"}, cache_dir=str(tmp_path / "c")))
    (tmp_path / "q.jsonl").write_text(json.dumps({"id": "1", "document_id": "1", "text_1": "x", "text_2": "y"}) + "\n")
    with pytest.raises(DataError, match=r"q\.jsonl.*example 0 \(id 1\): not a BigBio qa record"):
        list(get_reader("bigbio")(tmp_path, data_files={"train": "q.jsonl"}, schema="qa", cache_dir=str(tmp_path / "c")))
