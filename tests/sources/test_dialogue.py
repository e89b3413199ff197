"""Dialogue/instruction readers: MedDialog-zh sample, the GB18030 CSV, BenTsao JSONL and multi-turn JSON."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader

CSV = "sample_IM_5000-6000.gb18030.csv"


def test_meddialog_zh(shared_datasets):
    recs = list(get_reader("meddialog_zh")(shared_datasets / "MedDialog-zh"))
    assert validate_records(recs) == [] and len(recs) == 100
    assert [t["role"] for t in recs[0]["turns"]] == ["user", "assistant"]
    assert recs[0]["turns"][0]["content"].startswith("疾病：\n指甲营养不良")
    assert Counter(r["meta"]["department"] for r in recs)["皮肤科"] == 5


@pytest.mark.parametrize("output", ["qa", "dialogue"])
def test_chinese_medical_dialogue_csv(shared_datasets, output):
    recs = list(get_reader("medical_dialogue_csv")(shared_datasets / "Chinese-medical-dialogue-data",
                                                   files={"train": CSV}, output=output))
    assert validate_records(recs) == [] and len(recs) == 7644
    if output == "dialogue":
        depts = Counter(r["meta"]["department"] for r in recs)
        assert (depts["肝病科"], depts["消化科"], depts["神经科"], depts["心血管科"], depts["内分泌科"]) == (3121, 1414, 1104, 1080, 558)
    else:
        assert recs[0]["question"].startswith("高血压患者能吃党参吗？") and recs[0]["type"] == "free"


def test_csv_wrong_encoding_names_encoding_and_line(shared_datasets, tmp_path):
    with pytest.raises(DataError, match=rf"{CSV}:\d+: cannot decode as utf-8"):
        list(get_reader("medical_dialogue_csv")(shared_datasets / "Chinese-medical-dialogue-data",
                                                files={"train": CSV}, encoding="utf-8"))
    (tmp_path / "d.csv").write_bytes("department,title,ask,answer\n内科,头痛,头痛怎么办,休息\n".encode("gb18030") + b"\xff\xff,x\n")
    with pytest.raises(DataError, match=r"d\.csv:3: cannot decode as gb18030"):
        list(get_reader("medical_dialogue_csv")(tmp_path, files={"train": "d.csv"}))


def test_csv_bad_rows(tmp_path):
    (tmp_path / "d.csv").write_text("department,title,ask\n内科,头痛,头痛怎么办\n", encoding="gb18030")
    with pytest.raises(DataError, match=r"d\.csv:1: header .* lacks \['answer'\]"):
        list(get_reader("medical_dialogue_csv")(tmp_path, files={"train": "d.csv"}))
    (tmp_path / "d.csv").write_text("department,title,ask,answer\n内科,头痛,头痛怎么办,休息\n内科,头晕,头晕,\n", encoding="gb18030")
    with pytest.raises(DataError, match=r"d\.csv:3: row 2 has an empty question or answer"):
        list(get_reader("medical_dialogue_csv")(tmp_path, files={"train": "d.csv"}))


def test_bentsao_llama_data_and_liver_cancer(shared_datasets):
    root = shared_datasets / "Huatuo-Llama-Med-Chinese"
    single = list(get_reader("instruction_dialogue")(root, files={"train": "llama_data.jsonl"}))
    assert validate_records(single) == [] and len(single) == 8658
    assert all(len(r["turns"]) == 2 for r in single)
    multi = list(get_reader("instruction_dialogue")(root, files={"train": "liver_cancer_multiturn.json"},
                                                    dataset="BenTsao_livercacer"))
    assert validate_records(multi) == [] and len(multi) == 1000
    assert max(len(r["turns"]) for r in multi) == 12
    assert all([t["role"] for t in r["turns"]] == ["user", "assistant"] * (len(r["turns"]) // 2) for r in multi)
    assert not any("<user>" in t["content"] or "<bot>" in t["content"] for r in multi for t in r["turns"])


def test_instruction_errors(tmp_path):
    ok = {"instruction": "头痛怎么办？", "input": "", "output": "多休息。"}
    (tmp_path / "a.jsonl").write_text(json.dumps(ok, ensure_ascii=False) + "\n" + '{"instruction": "x"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.jsonl:2: malformed JSON"):
        list(get_reader("instruction_dialogue")(tmp_path, files={"train": "a.jsonl"}))
    (tmp_path / "a.jsonl").write_text(json.dumps({**ok, "output": " "}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.jsonl:1: turn 1 is empty"):
        list(get_reader("instruction_dialogue")(tmp_path, files={"train": "a.jsonl"}))
    (tmp_path / "a.jsonl").write_text(json.dumps({**ok, "input": "女，30岁"}, ensure_ascii=False) + "\n", encoding="utf-8")
    rec = next(get_reader("instruction_dialogue")(tmp_path, files={"train": "a.jsonl"}))
    assert rec["turns"][0]["content"] == "头痛怎么办？\n女，30岁"


@pytest.mark.parametrize("name,n", [("MedDialog-zh", 100), ("Chinese-medical-dialogue-data", 7644), ("BenTsao_llamadata", 8658),
                                    ("BenTsao_livercacer", 1000), ("pubmed_qa", 1000), ("med_qa", 1273), ("MEDQA", 3426),
                                    ("paramed", 998), ("wmt_biomedical_zh_en", 348)])
def test_catalog_entry_converts(shared_datasets, name, n):
    import taiyi.sources.convert as convert
    splits = convert.read_dataset(name, shared_datasets)
    assert sum(len(v) for v in splits.values()) == n
