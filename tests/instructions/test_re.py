"""RE codec: template counts, exact round-trip on real data, sloppy answers, strict micro-F1."""

from __future__ import annotations

import random

import pytest

from taiyi.instructions.tasks import re as re_codec
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.typed_answers import kb_label_kinds, offered_names, prompt_lang

from . import raw_samples

INFO_BIORED = {"name": "BioRED", "lang": "en", "tasks": ["ner", "re"], "schema": "kb",
               "label_names": {"GeneOrGeneProduct": {"en": "gene", "zh": "基因"}, "Association": {"en": "association", "zh": "关联"}}}
INFO_CMEIE = {"name": "CMeIE", "lang": "zh", "tasks": ["re"], "schema": "kb", "label_names": {}}


def assert_round_trip(records, info) -> int:
    n = 0
    for rec in records:
        target = re_codec.gold_target(rec)
        lang = prompt_lang(rec, info)
        meta = {"lang": lang, "phrasing": 0, "types": offered_names(info, kb_label_kinds(info, rec)[1], lang)}
        if not meta["types"]:
            continue
        for k in range(len(load_templates("re", lang).answers)):
            text = re_codec.render(target, meta, k)
            assert re_codec.parse(text, meta) == target, (rec["id"], k, text)
        n += 1
    return n


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_at_least_20_distinct_prompts(lang):
    tpl = load_templates("re", lang)
    assert len({p["text"] for p in tpl.prompts}) >= 20 and len(tpl.answers) >= 3 and tpl.empty


def test_round_trip_real_biored_and_cmeie(shared_datasets):
    n = assert_round_trip(raw_samples.pubtator(shared_datasets / "BioRED/pubtator/Test.PubTator", "BioRED"), INFO_BIORED) \
        if (shared_datasets / "BioRED/pubtator/Test.PubTator").exists() else 0
    n += assert_round_trip(raw_samples.cmeie(shared_datasets / "CBLUE/CMeIE/CMeIE_dev.json"), INFO_CMEIE)
    assert n >= 3000


def test_round_trip_every_converted_dataset(shared_corpus):
    seen = set()
    for rec, info in raw_samples.corpus_records(shared_corpus, "re"):
        assert_round_trip([rec], info)
        seen.add(info["name"])
    assert seen


def test_examples_per_type_and_eval():
    recs = raw_samples.cmeie(raw_samples.Path(__file__).parents[3] / "shared/datasets/CBLUE/CMeIE/CMeIE_dev.json")[:50] \
        if (raw_samples.Path(__file__).parents[3] / "shared/datasets/CBLUE/CMeIE/CMeIE_dev.json").exists() else []
    if not recs:
        pytest.skip("CMeIE not available")
    for rec in recs:
        out = re_codec.examples(rec, random.Random(1), INFO_CMEIE)
        assert out[0].target == re_codec.gold_target(rec)
        for ins in out:
            assert re_codec.parse(ins.messages[1]["content"], ins.meta) == ins.target
            assert {t for t, *_ in ins.target} <= {r for r, _ in ins.meta["types"]}
        assert len(re_codec.examples(rec, random.Random(1), INFO_CMEIE, mode="eval")) == 1


META = {"lang": "en", "phrasing": 0, "types": [["CID", "chemical-induced disease"]]}
META_ZH = {"lang": "zh", "phrasing": 0, "types": [["临床表现", "临床表现"], ["药物治疗", "药物治疗"]]}


@pytest.mark.parametrize(
    "text, meta, want",
    [
        ("Answer: Chemical-Induced Disease : aspirin  ->  asthma\nThat is all.", META, [["CID", "aspirin", "asthma"]]),
        ("1. (aspirin ,chemical-induced disease， asthma)\n* （ibuprofen，CID，ulcer）", META,
         [["CID", "aspirin", "asthma"], ["CID", "ibuprofen", "ulcer"]]),
        ("- The relation between aspirin and asthma is chemical-induced disease.", META, [["CID", "aspirin", "asthma"]]),
        ("临床表现:哮喘->咳嗽；药物治疗：哮喘→沙丁胺醇", META_ZH, [["临床表现", "哮喘", "咳嗽"], ["药物治疗", "哮喘", "沙丁胺醇"]]),
        ("• 哮喘与咳嗽之间存在\"临床表现\"关系。", META_ZH, [["临床表现", "哮喘", "咳嗽"]]),
        ("未发现相关关系", META_ZH, []),
    ],
)
def test_sloppy_answers(text, meta, want):
    assert re_codec.parse(text, meta) == want


@pytest.mark.parametrize("garbage", ["aspirin is a drug", "我不知道。", ""])
def test_garbage_raises(garbage):
    with pytest.raises(ParseError):
        re_codec.parse(garbage, META)


def test_score_hand_computed():
    golds = [[["CID", "a", "b"], ["CID", "c", "d"]], [["CPR:3", "x", "y"]], []]
    preds = [[["CID", "a", "b"], ["CID", "d", "c"]], [["CPR:3", "x", "y"]], [["CID", "e", "f"]]]
    s = re_codec.score(preds, golds)
    assert (s["tp"], s["n_pred"], s["n_gold"]) == (2, 4, 3)
    assert s["f1"] == pytest.approx(2 * 50 * (200 / 3) / (50 + 200 / 3))
    assert s["per_type/CPR:3/f1"] == pytest.approx(100.0) and s["per_type/CID/recall"] == pytest.approx(50.0)
