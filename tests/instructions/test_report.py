"""report codec: templates, round-trip of structured reports (MedDialog-zh doctor reports, PromptCBLUE IMCS-V2-MRG
toy reports), every answer style, sloppy answers, ROUGE-L scores."""

from __future__ import annotations

import json
import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import report
from taiyi.instructions.tasks.base import ParseError, load_templates


def _t2t(text_1, text_2, lang="zh", rid="1", name="report"):
    return new_record("t2t", id=rid, document_id=rid, dataset="X", split="test", lang=lang, text_1=text_1, text_2=text_2,
                      text_1_name="dialogue", text_2_name=name)


def _roundtrip(target, lang):
    meta = {"lang": lang, "phrasing": 0, "sections": list(target)}
    for k in range(len(load_templates("report", lang).answers)):
        text = report.render(target, meta, k)
        assert report.parse(text, meta) == target, (k, text)
    return 1


def test_roundtrip_real_reports(shared_datasets):
    n = 0
    for case in json.load(open(shared_datasets / "MedDialog-zh/Med-dialog_100.json", encoding="utf-8")):
        target = report.gold_target(_t2t(case["medical_case"], case["doctor_diagnosis"], rid=str(case["id"])))
        assert target and "report" not in target, target  # every MedDialog diagnosis opens with a "section：" line
        n += _roundtrip(target, "zh")
    for split in ("train", "dev", "test"):
        for line in open(shared_datasets / f"PromptCBLUE/toy_examples/{split}.json", encoding="utf-8"):
            row = json.loads(line)
            if row["task_dataset"] == "IMCS-V2-MRG" and row.get("target"):
                target = report.gold_target(_t2t(row["input"], row["target"]))
                assert list(target)[:2] == ["主诉", "现病史"], target  # the "…报告如下：" intro line is dropped
                n += _roundtrip(target, "zh")
    assert n >= 110


def test_split_report_and_examples():
    text = "上述问诊对话的诊疗报告如下：\n主诉：发热。\n现病史：发热两天，\n最高39度。\n\n诊断：上感。\n诊断：咽炎。"
    assert report.split_report(text) == {"主诉": "发热。", "现病史": "发热两天，\n最高39度。", "诊断": "上感。\n咽炎。"}
    assert report.split_report("no header here\nsecond line", "summary") == {"summary": "no header here\nsecond line"}
    rec = _t2t("患者：发烧两天。医生：……", "主诉：发热。\n诊断：上感。")
    ins = report.examples(rec, random.Random(0), {"lang": "zh"}, mode="eval")[0]
    assert ins.meta["sections"] == ["主诉", "诊断"] and "主诉、诊断" in ins.messages[0]["content"]
    assert report.parse(ins.messages[1]["content"], ins.meta) == ins.target == {"主诉": "发热。", "诊断": "上感。"}
    json.dumps(ins.meta)
    assert report.examples(_t2t("", "主诉：x"), random.Random(0), {}) == []


ZH = {"lang": "zh", "phrasing": 0, "sections": ["主诉", "现病史", "诊断", "建议"]}
GOLD = {"主诉": "发热。", "现病史": "发热两天，最高39度。", "诊断": "上呼吸道感染。", "建议": "多喝水，监测体温。"}


@pytest.mark.parametrize(
    "text",
    [
        "主诉: 发热。\n现病史 ： 发热两天，最高39度。\n诊断:上呼吸道感染。\n建议：多喝水，监测体温。",
        "答案：\n- 主诉：发热。\n- 现病史：发热两天，最高39度。\n- 诊断：上呼吸道感染。\n- 建议：多喝水，监测体温。",
        "1. 主诉：发热。\n2. 现病史：发热两天，最高39度。\n3. 诊断：上呼吸道感染。\n4. 建议：多喝水，监测体温。",
        "**主诉**：发热。\n**现病史**：发热两天，最高39度。\n**诊断**：上呼吸道感染。\n**建议**：多喝水，监测体温。",
        "诊疗报告如下：\n【主诉】 发热。\n【现病史】发热两天，最高39度。\n【诊断】上呼吸道感染。\n【建议】多喝水，监测体温。\n\n以上建议仅供参考。",
        "## 主诉\n发热。\n\n## 现病史\n发热两天，最高39度。\n\n## 诊断\n上呼吸道感染。\n\n## 建议\n多喝水，监测体温。\n\n祝早日康复！",
        '```json\n{"主诉": "发热。", "现病史": "发热两天，最高39度。", "诊断": "上呼吸道感染。", "建议": "多喝水，监测体温。"}\n```\n希望有帮助。',
    ],
)
def test_parse_sloppy(text):
    assert report.parse(text, ZH) == GOLD


def test_parse_sloppy_english_case():
    meta = {"lang": "en", "phrasing": 0, "sections": ["Chief complaint", "Diagnosis"]}
    assert report.parse("chief complaint: fever\nDIAGNOSIS - no", meta) == {"Chief complaint": "fever\nDIAGNOSIS - no"}
    assert report.parse("CHIEF COMPLAINT: fever\n* diagnosis: URTI", meta) == {"Chief complaint": "fever", "Diagnosis": "URTI"}


@pytest.mark.parametrize("text", ["", "  ", "抱歉，我无法生成报告。", "{not json"])
def test_parse_garbage_raises(text):
    with pytest.raises(ParseError):
        report.parse(text, ZH)
