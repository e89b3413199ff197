"""pair codec: template counts, round-trip on real pair sets, sloppy answers, accuracy."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import pair
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.labels import label_order, offered_names

from . import raw_samples

QQR = {"name": "KUAKE-QQR", "lang": "zh", "label_names": {"0": {"zh": "不相关", "en": "unrelated"},
       "1": {"zh": "部分相关", "en": "partly related"}, "2": {"zh": "完全相关", "en": "fully related"}}}


def test_round_trip_every_converted_dataset(shared_corpus):
    """Every distinct (options, label) of every pair dataset in the converted corpus, both languages, every phrasing."""
    def case(rec, info):
        options = tuple(label_order(info, [rec["label"]]))
        return (info["name"], options, rec["label"]), (info, list(options), rec["label"])

    cases, per_ds = raw_samples.distinct_cases(shared_corpus, "pair", case)
    assert {"CHIP-STS", "KUAKE-QQR", "KUAKE-QTR"} <= set(per_ds) and per_ds["KUAKE-QQR"][1] == 3, per_ds
    for info, labels, label in cases.values():
        for lang in ("zh", "en"):
            meta = {"lang": lang, "options": offered_names(info, labels, lang)}
            n = len(load_templates("pair", lang).answers)
            for k in range(n):
                text = pair.render(label, dict(meta, phrasing=k))
                assert pair.parse(text, dict(meta, phrasing=(k + 1) % n)) == label, (meta, k, text)


def test_examples():
    rec = new_record("pairs", id="s1", document_id="s1", dataset="KUAKE-QQR", split="dev", lang="zh",
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
