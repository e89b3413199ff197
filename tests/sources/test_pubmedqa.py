"""PubMedQA PQA-L reader: the official 500 test split and answer counts from PubMedQA/SOURCE.md."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader


def test_pubmedqa_counts(shared_datasets):
    recs = list(get_reader("pubmedqa")(shared_datasets / "PubMedQA"))
    assert validate_records(recs) == []
    assert len(recs) == 1000
    assert Counter(r["answer"][0] for r in recs) == {"yes": 552, "no": 338, "maybe": 110}
    test = [r for r in recs if r["split"] == "test"]
    assert len(test) == 500 and Counter(r["answer"][0] for r in test) == {"yes": 276, "no": 169, "maybe": 55}
    assert Counter(r["split"] for r in recs) == {"test": 500, "train": 500}
    # the official test split equals MIRAGE's test_set.json
    assert {r["id"] for r in test} == set(json.loads((shared_datasets / "PubMedQA" / "test_set.json").read_text()))
    r = next(x for x in recs if x["id"] == "12377809")
    assert r["type"] == "yesno" and r["choices"] == ["yes", "no", "maybe"]
    assert r["context"].startswith("Dyschesia can be provoked")


def _write(tmp_path, data, gold):
    (tmp_path / "ori_pqal.json").write_text(json.dumps(data))
    (tmp_path / "test_ground_truth.json").write_text(json.dumps(gold))


def test_pubmedqa_bad_answer_and_gold_mismatch(tmp_path):
    item = {"QUESTION": "Does X help?", "CONTEXTS": ["A.", "B."], "final_decision": "yes"}
    _write(tmp_path, {"1": item, "2": {**item, "final_decision": "perhaps"}}, {"1": "yes"})
    with pytest.raises(DataError, match=r"ori_pqal\.json: record 2: final_decision 'perhaps'"):
        list(get_reader("pubmedqa")(tmp_path))
    _write(tmp_path, {"1": item}, {"1": "no"})
    with pytest.raises(DataError, match=r"record 1: final_decision 'yes' differs from test ground truth 'no'"):
        list(get_reader("pubmedqa")(tmp_path))
    (tmp_path / "ori_pqal.json").write_text('{"1": {"QUESTION": "Does')
    with pytest.raises(DataError, match=r"ori_pqal\.json: malformed JSON"):
        list(get_reader("pubmedqa")(tmp_path))
