"""MedQA reader on USMLE (en) and MCMLE (zh) test files; counts from their SOURCE.md."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader


@pytest.mark.parametrize(
    "folder,file,lang,n,letters",
    [("MedQA-USMLE", "4_options/phrases_no_exclude_test.jsonl", "en", 1273, {"A": 353, "B": 309, "C": 346, "D": 265}),
     ("MedQA-MCMLE", "test.jsonl", "zh", 3426, {"A": 779, "B": 926, "C": 902, "D": 819})],
)
def test_medqa_counts(shared_datasets, folder, file, lang, n, letters):
    recs = list(get_reader("medqa")(shared_datasets / folder, files={"test": file}, lang=lang))
    assert validate_records(recs) == []
    assert len(recs) == n and {r["split"] for r in recs} == {"test"}
    assert all(r["type"] == "multiple_choice" and len(r["choices"]) == 4 for r in recs)
    raw = [json.loads(line) for line in (shared_datasets / folder / file).read_text(encoding="utf-8").splitlines()]
    assert Counter(x["answer_idx"] for x in raw) == letters  # one MCMLE question repeats an option text
    assert all(r["answer"] == [r["choices"]["ABCD".index(x["answer_idx"])]] for r, x in zip(recs, raw))
    if lang == "zh":
        assert recs[0]["choices"] == ["2小时", "4小时内", "12小时内", "24小时内"] and recs[0]["answer"] == ["24小时内"]


def test_medqa_errors_name_file_and_record(tmp_path):
    good = {"question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "b", "answer_idx": "B"}
    bad = {**good, "answer_idx": "E"}
    (tmp_path / "t.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"t\.jsonl: record 2: answer_idx 'E' not among option letters"):
        list(get_reader("medqa")(tmp_path, files={"test": "t.jsonl"}))
    (tmp_path / "t.jsonl").write_text(json.dumps({**good, "answer": "a"}) + "\n")
    with pytest.raises(DataError, match=r"record 1: answer 'a' differs from options\[B\]"):
        list(get_reader("medqa")(tmp_path, files={"test": "t.jsonl"}))
    (tmp_path / "t.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(good)[:20] + "\n")
    with pytest.raises(DataError, match=r"t\.jsonl:2: malformed JSON"):
        list(get_reader("medqa")(tmp_path, files={"test": "t.jsonl"}))
