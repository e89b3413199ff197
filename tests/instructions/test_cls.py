"""cls codec: template counts, round-trip on real label sets, sloppy answers, none-of-these, micro-F1."""

from __future__ import annotations

import random

import orjson
import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import cls
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.labels import label_order, offered_names
from taiyi.text import record_lang as prompt_lang

from . import raw_samples


def _case(rec: dict, info: dict):
    """Everything a round trip depends on: prompt language, the offered options (all labels), the target."""
    if rec.get("schema") != "text":
        return None
    lang = prompt_lang(rec, info)
    options = offered_names(info, label_order(info, cls.gold_target(rec)), lang)
    target = cls.gold_target(rec)
    return (lang, tuple(map(tuple, options)), tuple(target)), ({"lang": lang, "options": options}, target)


def test_round_trip_every_converted_dataset(shared_corpus):
    """Every distinct label set of every cls dataset in the converted corpus (all labels offered), every phrasing."""
    cases, per_ds = raw_samples.distinct_cases(shared_corpus, "cls", _case)
    assert {"CHIP-CTC", "KUAKE-QIC", "hallmarks_of_cancer"} <= set(per_ds), per_ds
    assert per_ds["CHIP-CTC"] == (22962 + 7682, 44) and per_ds["hallmarks_of_cancer"][1] > 100
    for meta, target in cases.values():
        n = len(load_templates("cls", meta["lang"]).answers)
        for k in range(n):
            text = cls.render(target, dict(meta, phrasing=k))
            assert cls.parse(text, dict(meta, phrasing=(k + 1) % n)) == target, (meta, k, text)


def test_chip_ctc_offers_all_44_classes_in_words(shared_corpus):
    info = orjson.loads((shared_corpus / "CHIP-CTC" / "meta.json").read_bytes())
    rec = next(r for r, i in raw_samples.corpus_records(shared_corpus, "cls") if i["name"] == "CHIP-CTC")
    ev = cls.examples(rec, random.Random(0), info, mode="eval")[0]
    assert len(ev.meta["options"]) == 44 and "知情同意" in ev.messages[0]["content"]
    assert cls.parse(ev.messages[1]["content"], ev.meta) == ev.target == cls.gold_target(rec)


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
