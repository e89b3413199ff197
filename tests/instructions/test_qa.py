"""qa codec: templates, round-trip on real free-answer QA data, sloppy answers, F1/ROUGE-L."""

from __future__ import annotations

import csv
import json
import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import qa
from taiyi.instructions.tasks.base import ParseError, load_templates


def _roundtrip(record, lang):
    n = 0
    for target in qa.gold_targets(record):
        meta = {"lang": lang, "phrasing": 0}
        for k in range(len(load_templates("qa", lang).answers)):
            text = qa.render(target, meta, k)
            assert qa.parse(text, meta) == target, (record["id"], k, text[:200])
        n += 1
    return n


def test_roundtrip_real_raw_files(shared_datasets):
    """Answers of Chinese-medical-dialogue-data (GB18030 CSV) and BenTsao llama_data, read straight from the files."""
    n = 0
    with open(shared_datasets / "Chinese-medical-dialogue-data/sample_IM_5000-6000.gb18030.csv", encoding="gb18030") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            rec = new_record("qa", id=str(i), document_id=str(i), dataset="cmd", split="train", lang="zh",
                             question=row["ask"] or row["title"], answer=[row["answer"]])
            n += _roundtrip(rec, "zh")
    for i, line in enumerate(open(shared_datasets / "Huatuo-Llama-Med-Chinese/llama_data.jsonl", encoding="utf-8")):
        q = json.loads(line)
        rec = new_record("qa", id=str(i), document_id=str(i), dataset="bentsao", split="train", lang="zh",
                         question=q["instruction"], answer=[q["output"]])
        n += _roundtrip(rec, "zh")
    assert n > 16000


def test_examples_train_and_eval():
    rec = new_record("qa", id="q1", document_id="d1", dataset="X", split="train", lang="en", question="What is asthma?",
                     answer=["A chronic airway disease.", "An inflammatory lung condition.", "A chronic airway disease."],
                     context="Asthma affects the airways.")
    train = qa.examples(rec, random.Random(0), {"lang": "en"})
    assert [i.target for i in train] == ["A chronic airway disease.", "An inflammatory lung condition."]
    assert "Asthma affects the airways." in train[0].messages[0]["content"]
    ev = qa.examples(rec, random.Random(5), {"lang": "en"}, mode="eval")
    assert len(ev) == 1 and ev[0].target == "A chronic airway disease."
    assert ev[0].to_record(with_target=True) == qa.examples(rec, random.Random(5), {"lang": "en"}, mode="eval")[0].to_record(with_target=True)
    assert qa.parse(ev[0].messages[1]["content"], ev[0].meta) == ev[0].target
    json.dumps(ev[0].meta)
    mc = new_record("qa", id="m", document_id="m", dataset="X", split="test", lang="en", question="q", type="multiple_choice",
                    choices=["a", "b"], answer=["a"])
    assert qa.examples(mc, random.Random(0), {}) == []


@pytest.mark.parametrize(
    "text,lang,expected",
    [
        ("答：多喝水，注意休息。", "zh", "多喝水，注意休息。"),
        ("答:  多喝水，注意休息。 ", "zh", "多喝水，注意休息。"),
        ("答案：多喝水，注意休息。", "zh", "多喝水，注意休息。"),
        ("**回答**：多喝水，注意休息。", "zh", "多喝水，注意休息。"),
        ("回答如下：\n多喝水，注意休息。", "zh", "多喝水，注意休息。"),
        ("回答如下:多喝水，注意休息。", "zh", "多喝水，注意休息。"),
        ("  Answer : Drink water and rest.", "en", "Drink water and rest."),
        ("ANSWER：Drink water and rest.", "en", "Drink water and rest."),
        ("Here is my answer:   Drink water and rest.", "en", "Drink water and rest."),
    ],
)
def test_parse_sloppy(text, lang, expected):
    assert qa.parse(text, {"lang": lang, "phrasing": 0}) == expected


@pytest.mark.parametrize("text", ["", "   \n ", "答：", "Answer:  "])
def test_parse_garbage_raises(text):
    with pytest.raises(ParseError):
        qa.parse(text, {"lang": "zh", "phrasing": 0})
