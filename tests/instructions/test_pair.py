"""pair codec: template counts, round-trip on real pair sets, sloppy answers, accuracy."""

from __future__ import annotations

import random

import pytest

from taiyi.instructions.tasks import pair
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.typed_answers import label_order, offered_names

from . import raw_samples

QQR = {"name": "KUAKE-QQR", "lang": "zh", "label_names": {"0": {"zh": "不相关", "en": "unrelated"},
       "1": {"zh": "部分相关", "en": "partly related"}, "2": {"zh": "完全相关", "en": "fully related"}}}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_at_least_20_distinct_prompts(lang):
    assert len({p["text"] for p in load_templates("pair", lang).prompts}) >= 20


def _round_trip(records, info):
    for rec in records:
        for lang in ("zh", "en"):
            meta = {"lang": lang, "phrasing": 0, "options": offered_names(info, label_order(info, [rec["label"]]), lang)}
            for k in range(len(load_templates("pair", lang).answers)):
                assert pair.parse(pair.render(rec["label"], meta, k), meta) == rec["label"]


def test_round_trip_real(shared_datasets):
    _round_trip(raw_samples.cblue_pairs(shared_datasets / "CBLUE/KUAKE-QQR/KUAKE-QQR_dev.json", "KUAKE-QQR", "query1", "query2"), QQR)


def test_round_trip_every_converted_dataset(shared_corpus):
    seen = set()
    for rec, info in raw_samples.corpus_records(shared_corpus, "pair"):
        _round_trip([rec], info)
        seen.add(info["name"])
    assert seen


def test_examples():
    rec = raw_samples.new_record("pairs", id="s1", document_id="s1", dataset="KUAKE-QQR", split="dev", lang="zh",
                                 text_1="茴香是发物吗", text_2="茴香怎么吃？", label="0")
    ins = pair.examples(rec, random.Random(0), QQR)[0]
    assert ins.target == "0" and "茴香是发物吗" in ins.messages[0]["content"] and "部分相关" in ins.messages[0]["content"]
    assert pair.parse(ins.messages[1]["content"], ins.meta) == "0"


META = {"lang": "zh", "phrasing": 0, "options": [["0", "不相关"], ["1", "部分相关"], ["2", "完全相关"]]}


@pytest.mark.parametrize("text, want", [("答案:部分相关。", "1"), ("  不相关 ", "0"), ("- 完全相关\n因为两句问的是同一件事。", "2"),
                                        ("两段文本的关系是：不相关", "0")])
def test_sloppy(text, want):
    assert pair.parse(text, META) == want


def test_garbage_raises():
    with pytest.raises(ParseError):
        pair.parse("我觉得很难说", META)


def test_score():
    s = pair.score(["0", "1", None, "2"], ["0", "2", "1", "2"])
    assert s["accuracy"] == 50.0 and s["parse_failures"] == 1 and s["precision"] == pytest.approx(200 / 3)
