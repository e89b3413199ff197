"""cls codec: template counts, round-trip on real label sets, sloppy answers, none-of-these, micro-F1."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import cls
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.typed_answers import label_order, offered_names, prompt_lang

from . import raw_samples


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_at_least_20_distinct_prompts(lang):
    tpl = load_templates("cls", lang)
    assert len({p["text"] for p in tpl.prompts}) >= 20 and len(tpl.answers) >= 3 and tpl.empty


def _round_trip(records, info):
    for rec in records:
        lang = prompt_lang(rec, info)
        meta = {"lang": lang, "phrasing": 0, "options": offered_names(info, label_order(info, cls.gold_target(rec)), lang)}
        for k in range(len(load_templates("cls", lang).answers)):
            assert cls.parse(cls.render(cls.gold_target(rec), meta, k), meta) == cls.gold_target(rec), rec["id"]


def test_round_trip_real(shared_datasets):
    ctc = raw_samples.cblue_text(shared_datasets / "CBLUE/CHIP-CTC/CHIP-CTC_dev.json", "CHIP-CTC", "text")
    labels = sorted({l for r in ctc for l in r["labels"]})
    _round_trip(ctc, {"lang": "zh", "label_names": {l: {"zh": l, "en": l} for l in labels}})
    _round_trip(raw_samples.hoc(shared_datasets / "HoC/blurb_tsv/test.tsv"),
                {"lang": "en", "label_names": {str(i): {"en": f"hallmark {i}", "zh": f"标志{i}"} for i in range(10)}})


def test_round_trip_every_converted_dataset(shared_corpus):
    seen = set()
    for rec, info in raw_samples.corpus_records(shared_corpus, "cls"):
        _round_trip([rec], info)
        seen.add(info["name"])
    assert seen


INFO = {"name": "KUAKE-QIC", "lang": "zh", "label_names": {k: {"zh": k, "en": k} for k in
        ["病情诊断", "病因分析", "治疗方案", "就医建议", "指标解读", "疾病表述", "后果表述", "注意事项", "功效作用", "医疗费用", "其他"]}}


def test_examples_subsample_keep_gold_and_none_case():
    rec = new_record("text", id="1", document_id="1", dataset="KUAKE-QIC", split="dev", lang="zh", text="心肌缺血如何治疗？", labels=["治疗方案"])
    outs = [cls.examples(rec, random.Random(s), INFO)[0] for s in range(60)]
    for o in outs:
        offered = [r for r, _ in o.meta["options"]]
        assert o.target == (["治疗方案"] if "治疗方案" in offered else [])
        assert cls.parse(o.messages[1]["content"], o.meta) == o.target
    assert any(o.target == [] for o in outs) and any(o.target for o in outs)
    ev = cls.examples(rec, random.Random(0), INFO, mode="eval")[0]
    assert len(ev.meta["options"]) == 11 and ev.target == ["治疗方案"]


META = {"lang": "en", "phrasing": 0, "options": [["a", "Disease"], ["b", "Disease Risk"], ["c", "Consent"]]}


@pytest.mark.parametrize("text, want", [
    ("Category： disease risk ; CONSENT", ["b", "c"]),
    ("- Disease\n- Consent\nI hope this helps.", ["a", "c"]),
    ("答案：Disease Risk。", ["b"]),
    ("None of these categories applies", []),
])
def test_sloppy(text, want):
    assert cls.parse(text, META) == want


def test_garbage_raises():
    with pytest.raises(ParseError):
        cls.parse("The text is about the weather.", META)


def test_score():
    s = cls.score([["a"], ["a", "b"], None], [["a"], ["b"], ["c"]])
    assert (s["tp"], s["n_pred"], s["n_gold"], s["parse_failures"]) == (2, 3, 3, 1)
    assert s["f1"] == pytest.approx(200 / 3) and s["exact_match"] == pytest.approx(100 / 3)
