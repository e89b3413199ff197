"""CBLUE readers on the real files (counts from each CBLUE/<task>/SOURCE.md) and on broken inputs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from taiyi.corpus.schema import document_text, validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader


def _read(reader, root, **opts):
    by_split: dict[str, list[dict]] = {}
    for rec in get_reader(reader)(root, **opts):
        by_split.setdefault(rec["split"], []).append(rec)
    return by_split


def _valid(by_split):
    recs = [r for rs in by_split.values() for r in rs]
    assert validate_records(recs) == []
    return recs


@pytest.mark.parametrize(
    "task,dev_entities,types",
    [("CMeEE", 20300, {"bod": 5883, "dis": 4935, "sym": 4130, "pro": 2057, "dru": 1440, "ite": 923, "mic": 584, "equ": 238, "dep": 110}),
     ("CMeEE-V2", 26081, {"bod": 7361, "dis": 6328, "sym": 5297, "pro": 3319, "dru": 1566, "ite": 1339, "mic": 621, "equ": 164, "dep": 86})],
)
def test_cmeee_counts(shared_datasets, task, dev_entities, types):
    root = shared_datasets / "CBLUE" / task
    got = _read("cblue_ner", root, files={"dev": f"{task}_dev.json", "test_unlabelled": f"{task}_test.json"}, dataset=task)
    _valid(got)
    assert len(got["dev"]) == 5000 and len(got["test_unlabelled"]) == 3000
    ents = [e for r in got["dev"] for e in r["entities"]]
    assert len(ents) == dev_entities
    assert Counter(e["type"] for e in ents) == types
    assert not any(r["entities"] for r in got["test_unlabelled"])
    first = got["dev"][0]
    assert document_text(first)[3:12 if task == "CMeEE-V2" else 10] == ("SARST细胞亚群" if task == "CMeEE-V2" else "SARST细胞")


def test_cmeee_bad_offset_names_file_and_record(tmp_path):
    data = [{"text": "患者发热。", "entities": [{"start_idx": 2, "end_idx": 3, "type": "sym", "entity": "发热"}]},
            {"text": "咳嗽三天", "entities": [{"start_idx": 0, "end_idx": 2, "type": "sym", "entity": "咳嗽"}]}]
    (tmp_path / "x_dev.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"x_dev\.json: record 1: entity 0 \[0,2\]"):
        list(get_reader("cblue_ner")(tmp_path, files={"dev": "x_dev.json"}))


def test_truncated_json_names_file(tmp_path):
    (tmp_path / "x_dev.json").write_text('[{"text": "咳嗽", "entities": [', encoding="utf-8")
    with pytest.raises(DataError, match=r"x_dev\.json: malformed JSON"):
        list(get_reader("cblue_ner")(tmp_path, files={"dev": "x_dev.json"}))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope\.json: file for split 'dev' not found"):
        list(get_reader("cblue_cls")(tmp_path, files={"dev": "nope.json"}))


def test_cmeie_counts(shared_datasets):
    root = shared_datasets / "CBLUE" / "CMeIE"
    got = _read("cblue_re", root, files={"dev": "CMeIE_dev.json", "test_unlabelled": "CMeIE_test.json"}, dataset="CMeIE")
    _valid(got)
    assert len(got["dev"]) == 3585 and len(got["test_unlabelled"]) == 4482
    rels = [(r, x) for r in got["dev"] for x in r["relations"]]
    assert len(rels) == 10626
    assert len({x["type"] for _, x in rels}) == 44
    distinct = set()
    for r, x in rels:
        ents = {e["id"]: e for e in r["entities"]}
        distinct.add((r["id"], x["type"], ents[x["arg1_id"]]["text"][0], ents[x["arg2_id"]]["text"][0]))
    assert len(distinct) == 10613


def test_cmeie_unlocated_mention(tmp_path):
    line = {"text": "高血压@可用硝苯地平治疗。", "spo_list": [
        {"Combined": False, "predicate": "药物治疗", "subject": "高血压", "subject_type": "疾病",
         "object": {"@value": "氨氯地平"}, "object_type": {"@value": "药物"}}]}
    (tmp_path / "re.json").write_text("\n" + json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"re\.json: line 2: spo 0: mention '氨氯地平' does not occur"):
        list(get_reader("cblue_re")(tmp_path, files={"dev": "re.json"}))
    recs = list(get_reader("cblue_re")(tmp_path, files={"dev": "re.json"}, unlocated="skip"))
    assert recs[0]["relations"] == []


def test_cmeie_closest_occurrence(tmp_path):
    line = {"text": "肺炎@咳嗽。另见肺炎的症状：发热。", "spo_list": [
        {"predicate": "临床表现", "subject": "肺炎", "subject_type": "疾病", "object": {"@value": "发热"},
         "object_type": {"@value": "症状"}}]}
    (tmp_path / "re.json").write_text(json.dumps(line, ensure_ascii=False), encoding="utf-8")
    rec = next(get_reader("cblue_re")(tmp_path, files={"dev": "re.json"}))
    assert [e["offsets"] for e in rec["entities"]] == [[[8, 10]], [[14, 16]]]


def test_chip_cdee_counts(shared_datasets):
    root = shared_datasets / "CBLUE" / "CHIP-CDEE"
    got = _read("cblue_ee", root, files={"train": "CHIP-CDEE_train.json", "dev": "CHIP-CDEE_dev.json",
                                         "test_unlabelled": "CHIP-CDEE_test.json"}, dataset="CHIP-CDEE")
    _valid(got)
    assert {k: len(v) for k, v in got.items()} == {"train": 1587, "dev": 384, "test_unlabelled": 514}
    assert sum(len(r["events"]) for r in got["train"]) == 8761
    assert sum(len(r["events"]) for r in got["dev"]) == 2138
    ev = got["dev"][0]["events"][1]
    assert {(a["role"], a["text"]) for a in ev["arguments"]} == {("core_name", "肺炎"), ("character", "大叶性"), ("anatomy", "右肺上叶")}


@pytest.mark.parametrize(
    "task,field,sizes,n_labels",
    [("CHIP-CTC", "text", {"train": 22962, "dev": 7682, "test_unlabelled": 10192}, 44),
     ("KUAKE-QIC", "query", {"train": 6931, "dev": 1955, "test_unlabelled": 1994}, 11)],
)
def test_text_classification_counts(shared_datasets, task, field, sizes, n_labels):
    root = shared_datasets / "CBLUE" / task
    files = {s: f"{task}_{'test' if s == 'test_unlabelled' else s}.json" for s in sizes}
    got = _read("cblue_cls", root, files=files, text_field=field, dataset=task)
    _valid(got)
    assert {k: len(v) for k, v in got.items()} == sizes
    labels = Counter(r["labels"][0] for s in ("train", "dev") for r in got[s])
    assert len(labels) == n_labels
    if task == "KUAKE-QIC":
        assert Counter(r["labels"][0] for r in got["train"])["治疗方案"] == 1750
    else:
        assert Counter(r["labels"][0] for r in got["train"])["Disease"] == 5127
    assert all(r["labels"] == [] for r in got["test_unlabelled"])


@pytest.mark.parametrize(
    "task,fields,sizes,train_labels",
    [("CHIP-STS", ("text1", "text2"), {"train": 16000, "dev": 4000, "test_unlabelled": 10000}, {"1": 8011, "0": 7989}),
     ("KUAKE-QQR", ("query1", "query2"), {"train": 15000, "dev": 1599, "test_unlabelled": 1596}, {"0": 8946, "1": 2603, "2": 3451}),
     ("KUAKE-QTR", ("query", "title"), {"train": 24174, "dev": 2913, "test_unlabelled": 5464},  # s4127: empty title
      {"0": 3880, "1": 5384, "2": 5514, "3": 9396})],
)
def test_pairs_counts(shared_datasets, task, fields, sizes, train_labels):
    root = shared_datasets / "CBLUE" / task
    files = {s: f"{task}_{'test' if s == 'test_unlabelled' else s}.json" for s in sizes}
    got = _read("cblue_pairs", root, files=files, fields=list(fields), dataset=task)
    _valid(got)
    assert {k: len(v) for k, v in got.items()} == sizes
    assert Counter(r["label"] for r in got["train"]) == train_labels


def test_chip_cdn(shared_datasets):
    root = shared_datasets / "CBLUE" / "CHIP-CDN"
    sizes = {"train": 6000, "dev": 2000, "test_unlabelled": 10000}
    files = {s: f"CHIP-CDN_{'test' if s == 'test_unlabelled' else s}.json" for s in sizes}
    got = _read("cblue_norm", root, files=files, dataset="CHIP-CDN")
    _valid(got)
    assert {k: len(v) for k, v in got.items()} == sizes
    assert got["train"][0]["text_2"] == "膝骨关节病##膝关节游离体"
    assert not got["test_unlabelled"][0]["text_1"].startswith("\ufeff")


def test_missing_label_is_named(tmp_path):
    (tmp_path / "q_train.json").write_text(json.dumps([{"id": "s1", "query": "头痛怎么办"}], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"q_train\.json: record 0: missing field 'label'"):
        list(get_reader("cblue_cls")(tmp_path, files={"train": "q_train.json"}, text_field="query"))


@pytest.mark.parametrize("name", ["CMeEE-V2", "CMeEE", "CMeIE", "CHIP-CDEE", "CHIP-CTC", "CHIP-STS", "KUAKE-QIC", "KUAKE-QQR",
                                  "KUAKE-QTR", "CHIP-CDN"])
def test_catalog_entry_converts(shared_datasets, name):
    import taiyi.sources.convert as convert
    splits = convert.read_dataset(name, shared_datasets)
    assert "test_unlabelled" in splits and all(r["dataset"] == name for rs in splits.values() for r in rs)
