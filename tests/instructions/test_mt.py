"""mt codec: templates, both directions, round-trip on real WMT/ParaMed pairs, sloppy answers, BLEU/chrF."""

from __future__ import annotations

import json
import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import mt
from taiyi.instructions.tasks.base import ParseError, load_templates


def _roundtrip(record):
    n = 0
    for _src_text, src, target, _tgt in mt.gold_pairs(record, "train"):
        meta = {"lang": src, "phrasing": 0}
        for k in range(len(load_templates("mt", src).answers)):
            text = mt.render(target, meta, k)
            assert mt.parse(text, meta) == target, (record["id"], k, text[:200])
        n += 1
    return n


def _pair(en, zh, rid="1"):
    return new_record("t2t", id=rid, document_id=rid, dataset="X", split="test", lang="zh-en", text_1=en, text_2=zh,
                      text_1_name="en", text_2_name="zh")


def test_roundtrip_real_wmt_lines(shared_datasets):
    n = 0
    for direction in ("en2zh", "zh2en"):
        en = (shared_datasets / f"WMT-Biomedical-zh-en/medline_{direction}_en.txt").read_text(encoding="utf-8").splitlines()
        zh = (shared_datasets / f"WMT-Biomedical-zh-en/medline_{direction}_zh.txt").read_text(encoding="utf-8").splitlines()
        for i, (a, b) in enumerate(zip(en, zh)):
            n += _roundtrip(_pair(a.split("\t")[-1], b.split("\t")[-1], f"{direction}-{i}"))
    assert n > 1000


def test_examples_both_directions_and_eval():
    rec = _pair("Aspirin lowers the risk.", "阿司匹林降低风险。")
    train = mt.examples(rec, random.Random(0), {"lang": "zh-en"})
    assert [(i.meta["source_lang"], i.meta["target_lang"], i.target) for i in train] == [
        ("en", "zh", "阿司匹林降低风险。"), ("zh", "en", "Aspirin lowers the risk.")]
    assert train[0].lang == "en" and train[1].lang == "zh"  # prompt in the source language
    assert "Chinese" in train[0].messages[0]["content"] and "英文" in train[1].messages[0]["content"]
    ev = mt.examples(rec, random.Random(0), {"lang": "zh-en"}, mode="eval")
    assert len(ev) == 1 and ev[0].target == "阿司匹林降低风险。"
    json.dumps(ev[0].meta)
    title = new_record("t2t", id="t", document_id="t", dataset="X", split="test", lang="en", text_1="a", text_2="b",
                       text_1_name="abstract", text_2_name="title")
    assert mt.examples(title, random.Random(0), {}) == []


@pytest.mark.parametrize(
    "text,lang,expected",
    [
        ("译文：阿司匹林降低风险。", "zh", "阿司匹林降低风险。"),
        ("译文:阿司匹林降低风险。", "zh", "阿司匹林降低风险。"),
        ("  翻译结果如下：\n\n阿司匹林降低风险。 ", "zh", "阿司匹林降低风险。"),
        ("Translation：Aspirin lowers the risk.", "en", "Aspirin lowers the risk."),
        ("**Translation:** Aspirin lowers the risk.", "en", "Aspirin lowers the risk."),
        ("English translation: Aspirin lowers the risk.", "zh", "Aspirin lowers the risk."),
        ("Here is the translation:   Aspirin lowers the risk.", "en", "Aspirin lowers the risk."),
    ],
)
def test_parse_sloppy(text, lang, expected):
    assert mt.parse(text, {"lang": lang, "phrasing": 0}) == expected


@pytest.mark.parametrize("text", ["", "\n", "译文：", "Translation:"])
def test_parse_garbage_raises(text):
    with pytest.raises(ParseError):
        mt.parse(text, {"lang": "en", "phrasing": 0})
