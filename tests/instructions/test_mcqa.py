"""mcqa codec: templates, round-trip on real MedQA/PubMedQA data, sloppy answers, accuracy."""

from __future__ import annotations

import json
import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import mcqa
from taiyi.instructions.tasks.base import ParseError, load_templates

ALL_PHRASINGS = range(5)


def _record(question, choices, answer, lang="en", type_="multiple_choice", context="", rid="1", dataset="X"):
    return new_record("qa", id=rid, document_id=rid, dataset=dataset, split="test", lang=lang, question=question,
                      type=type_, choices=choices, answer=[answer], context=context)


def _roundtrip(record, lang):
    target = mcqa.gold_target(record)
    if target is None:
        return 0
    meta = {"lang": lang, "phrasing": 0, "choices": record["choices"]}
    for k in range(len(load_templates("mcqa", lang).answers)):
        text = mcqa.render(target, meta, k)
        assert mcqa.parse(text, meta) == target, (record["id"], k, text)
    return 1


def test_roundtrip_real_medqa_and_pubmedqa(shared_datasets):
    n = 0
    for lang, path in (("en", "MedQA-USMLE/4_options/phrases_no_exclude_test.jsonl"), ("zh", "MedQA-MCMLE/test.jsonl")):
        for i, line in enumerate(open(shared_datasets / path, encoding="utf-8")):
            q = json.loads(line)
            n += _roundtrip(_record(q["question"], list(q["options"].values()), q["answer"], lang, rid=str(i)), lang)
    for pmid, q in json.load(open(shared_datasets / "PubMedQA/ori_pqal.json", encoding="utf-8")).items():
        rec = _record(q["QUESTION"], ["yes", "no", "maybe"], q["final_decision"], "en", "yesno", " ".join(q["CONTEXTS"]), pmid)
        n += _roundtrip(rec, "en")
    assert n == 1273 + 3426 + 1000


def test_examples_eval_prompt_lists_lettered_options():
    rec = _record("Which virus?", ["HBV", "HAV", "HCV", "HDV"], "HCV", rid="q1", dataset="MedQA-USMLE")
    a = mcqa.examples(rec, random.Random(3), {"lang": "en"}, mode="eval")
    b = mcqa.examples(rec, random.Random(3), {"lang": "en"}, mode="eval")
    assert len(a) == 1 and a[0].to_record(with_target=True) == b[0].to_record(with_target=True)
    ins = a[0]
    assert "A. HBV" in ins.messages[0]["content"] and "D. HDV" in ins.messages[0]["content"]
    assert ins.target == "HCV" and ins.meta["choices"] == ["HBV", "HAV", "HCV", "HDV"]
    assert ins.template_id.startswith("mcqa.en.")
    json.dumps(ins.meta)
    assert mcqa.parse(ins.messages[1]["content"], ins.meta) == "HCV"
    pubmed = _record("Is it?", ["yes", "no", "maybe"], "no", type_="yesno", context="Some abstract text.")
    assert "Some abstract text." in mcqa.examples(pubmed, random.Random(0), {"lang": "en"})[0].messages[0]["content"]
    assert mcqa.examples(_record("q", [], "x", type_="free"), random.Random(0), {}) == []


ZH_META = {"lang": "zh", "phrasing": 0, "choices": ["2小时", "4小时内", "12小时内", "24小时内"]}
EN_META = {"lang": "en", "phrasing": 0, "choices": ["yes", "no", "maybe"]}


@pytest.mark.parametrize(
    "text,meta,expected",
    [
        ("D", ZH_META, "24小时内"),
        ("(D)", ZH_META, "24小时内"),
        ("选D", ZH_META, "24小时内"),
        ("答案是 D", ZH_META, "24小时内"),
        ("答案：D。", ZH_META, "24小时内"),
        ("答案:  D", ZH_META, "24小时内"),
        ("- D. 24小时内\n因为法规规定必须在24小时内上报。", ZH_META, "24小时内"),
        ("1. D．24小时内", ZH_META, "24小时内"),
        ("  12小时内 ", ZH_META, "12小时内"),
        ("应当在12小时内报告。", ZH_META, "12小时内"),
        ("正确答案是B（4小时内）", ZH_META, "4小时内"),
        ("Maybe", EN_META, "maybe"),
        ("Answer: No.", EN_META, "no"),
        ("The answer is (B).", EN_META, "no"),
        ("* yes\nThe study supports this conclusion.", EN_META, "yes"),
        ("Yes, the results show a significant effect.", EN_META, "yes"),
        ("The text belongs to: C.", EN_META, "maybe"),
        ("所属类别：B", ZH_META, "4小时内"),
    ],
)
def test_parse_sloppy(text, meta, expected):
    assert mcqa.parse(text, meta) == expected


@pytest.mark.parametrize("text", ["", "   ", "我不确定这道题。", "Z", "I have no idea."])
def test_parse_garbage_raises(text):
    meta = ZH_META if any("\u4e00" <= c <= "\u9fff" for c in text) else EN_META
    with pytest.raises(ParseError):
        mcqa.parse(text, meta)

