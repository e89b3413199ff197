"""EE codec: template counts, exact round-trip on every CHIP-CDEE target, sloppy answers, event/attribute micro-F1."""

from __future__ import annotations

import json
import random

import pytest

from taiyi.corpus.schema import make_passages, new_record
from taiyi.instructions.tasks import ee
from taiyi.instructions.tasks.base import ParseError, load_templates

from . import raw_samples

ZH = {"lang": "zh", "phrasing": 0}
EN = {"lang": "en", "phrasing": 0}
INFO = {"name": "CHIP-CDEE", "lang": "zh", "tasks": ["ee"], "schema": "kb", "label_names": {}}


def _record(text, events, rid="r1"):
    evs = []
    for j, (core, tendency, chars, anats) in enumerate(events):
        args = [{"role": "core_name", "text": core}] + ([{"role": "tendency", "text": tendency}] if tendency else [])
        args += [{"role": "character", "text": c} for c in chars] + [{"role": "anatomy", "text": a} for a in anats]
        s = text.find(core)
        evs.append({"id": f"E{j}", "type": "临床发现事件", "arguments": args,
                    "trigger": {"text": [core], "offsets": [[s, s + len(core)]]} if s >= 0 else {"text": [], "offsets": []}})
    return new_record("kb", id=rid, document_id=rid, dataset="CHIP-CDEE", split="dev", lang="zh",
                      passages=make_passages([("sentence", text)]), events=evs)


def test_gold_target_canonical_form():
    rec = _record("右肺门结节及右肺上叶大叶性肺炎，否认胸痛。",
                  [("肺炎", "", ["大叶性"], ["右肺上叶"]), ("结节", "", [], ["右肺门"]), ("胸痛", "否定", [], []),
                   ("结节", "", [], ["右肺门"]), ("肺炎", "", [" 大叶性 ", "大叶性"], ["右肺上叶"])])
    # sorted unique events, whitespace collapsed, attribute lists sorted unique; the trigger is not part of it
    assert ee.gold_target(rec) == [["结节", "", [], ["右肺门"]], ["肺炎", "", ["大叶性"], ["右肺上叶"]], ["胸痛", "否定", [], []]]


def test_round_trip_every_chip_cdee_target(shared_corpus):
    """Every distinct gold target of CHIP-CDEE train + dev, in every phrasing of both languages."""
    def case(rec, info):
        if rec["split"] not in ("train", "dev"):
            return None
        target = ee.gold_target(rec)
        return json.dumps(target, ensure_ascii=False), target

    cases, per_ds = raw_samples.distinct_cases(shared_corpus, "ee", case)
    assert per_ds["CHIP-CDEE"][0] == 1587 + 384 and len(cases) > 1900
    for lang in ("zh", "en"):
        n = len(load_templates("ee", lang).answers)
        for k in range(n):
            for target in cases.values():
                text = ee.render(target, {"lang": lang, "phrasing": k})
                # parse prefers another phrasing than the one written
                assert ee.parse(text, {"lang": lang, "phrasing": (k + 1) % n}) == target, (lang, k, text)


def test_values_that_need_quotes_round_trip():
    target = ee.canonical([["肿块（约2cm）", "", ["大小约1.0cm×0.8cm，边界清", "无"], ["左乳“外上”象限"]],
                           ["部位", "阴性", ["高：低"], []], ["发热", "不确定", [], ["a; b"]]])
    for lang in ("zh", "en"):
        for k in range(len(load_templates("ee", lang).answers)):
            meta = {"lang": lang, "phrasing": k}
            assert ee.parse(ee.render(target, meta), meta) == target, (lang, k, ee.render(target, meta))


def test_examples_one_prompt_with_all_events():
    rec = _record("右肺门结节及右肺上叶大叶性肺炎，否认胸痛。",
                  [("肺炎", "", ["大叶性"], ["右肺上叶"]), ("结节", "", [], ["右肺门"]), ("胸痛", "否定", [], [])])
    seen_templates = set()
    for seed in range(30):
        (ins,) = ee.examples(rec, random.Random(seed), INFO)
        assert ins.target == ee.gold_target(rec) and ins.task == "ee" and ins.lang == "zh"
        assert "右肺门结节及右肺上叶大叶性肺炎" in ins.messages[0]["content"]
        assert ee.parse(ins.messages[1]["content"], ins.meta) == ins.target
        seen_templates.add(ins.template_id)
    assert len(seen_templates) > 10 and all(t.startswith("ee.zh.") for t in seen_templates)
    assert ee.examples(rec, random.Random(5), INFO, mode="eval") == ee.examples(rec, random.Random(5), INFO, mode="eval")
    (empty,) = ee.examples(_record("一般情况可。", []), random.Random(0), INFO)
    assert empty.target == [] and ee.parse(empty.messages[1]["content"], empty.meta) == []
    bionlp = dict(rec, events=[{"id": "E1", "type": "Binding", "trigger": {"text": ["binds"], "offsets": [[0, 5]]},
                                "arguments": [{"role": "Theme", "ref_id": "T1"}]}])
    assert ee.examples(bionlp, random.Random(0), INFO) == []
    assert ee.examples(new_record("text", id="x", document_id="x", dataset="d", split="dev", lang="zh", text="t", labels=[]),
                       random.Random(0), INFO) == []


PNEUMONIA = ["肺炎", "", ["大叶性"], ["右肺上叶"]]
NODULE = ["结节", "", [], ["右肺门"]]
CHEST_PAIN = ["胸痛", "否定", [], []]


@pytest.mark.parametrize(
    "text, meta, want",
    [
        ("主体词:肺炎; 解剖部位：右肺上叶 ;描述词: 大叶性；发生状态:肯定", ZH, [PNEUMONIA]),
        ("1. 主体词：结节，部位：右肺门\n2. 主体词：肺炎，部位：右肺上叶，描述：大叶性\n3. 主体词：胸痛，状态：阴性", ZH,
         [NODULE, PNEUMONIA, CHEST_PAIN]),
        ("答案：\n事件 1:\n  * 主体词 ： 肺炎\n  * 解剖部位： 右肺上叶\n  * 描述词：大叶性\n事件2：\n  * 主体词：胸痛\n  * 发生状态：否定\n"
         "以上为文中全部临床发现。", ZH, [CHEST_PAIN, PNEUMONIA]),
        ("• 结节(部位:右肺门)\n• 肺炎（描述词：大叶性; 解剖部位：右肺上叶）。\n• 胸痛（发生状态：否定）\n希望对您有帮助！", ZH,
         [NODULE, PNEUMONIA, CHEST_PAIN]),
        ("- 结节（解剖部位：右肺门）\n- 咳嗽\n- 发热（状态：疑似）", ZH, [NODULE, ["咳嗽", "", [], []], ["发热", "不确定", [], []]]),
        ('```json\n[{"core finding": "肺炎", "site": "右肺上叶", "descriptors": ["大叶性"], "status": "affirmed"},\n'
         ' {"core_name": "胸痛", "tendency": "否定", "character": [], "anatomy_list": []}]\n```', EN, [CHEST_PAIN, PNEUMONIA]),
        ('{"主体词": "结节", "解剖部位": ["右肺门"]}\n{"主体词": "胸痛", "发生状态": "阴性"}', ZH, [NODULE, CHEST_PAIN]),
        ("Answer: Core Finding: 肺炎; Anatomical Site: 右肺上叶; Descriptors: 大叶性; Status: none\n"
         "core finding: 胸痛; anatomical site: none; descriptors: none; status: Negated.", EN, [CHEST_PAIN, PNEUMONIA]),
        ("- 肺炎 (anatomical site: 右肺上叶; descriptors: 大叶性)", EN, [PNEUMONIA]),
        ("主体词：肺炎；解剖部位：右肺上叶、左肺下叶；描述词：无；发生状态：无", ZH, [["肺炎", "", [], ["右肺上叶", "左肺下叶"]]]),
        ("| 主体词 | 解剖部位 | 描述词 | 发生状态 |\n|---|---|---|---|\n| 肺炎 | 右肺上叶 | 大叶性 | 肯定 |\n| 胸痛 | 无 | 无 | 否定 |\n"
         "表中为全部事件。", ZH, [CHEST_PAIN, PNEUMONIA]),
        ("未发现临床发现事件", ZH, []),
        ("No clinical finding events were found in this note.", EN, []),
        ("无。", ZH, []),
    ],
)
def test_sloppy_answers(text, meta, want):
    assert ee.parse(text, meta) == ee.canonical(want)


@pytest.mark.parametrize("garbage", ["患者一般情况可，精神好。", "I am not sure what you mean.", "", "   ", None,
                                     "第3天复查：", "- 解剖部位：右肺"])
def test_garbage_raises(garbage):
    with pytest.raises(ParseError):
        ee.parse(garbage, ZH)
