"""RE codec: template counts, exact round-trip on real data, sloppy answers, strict micro-F1."""

from __future__ import annotations

import random

import orjson
import pytest

from taiyi.instructions.tasks import re as re_codec
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.labels import kb_label_kinds, offered_names
from taiyi.text import record_lang as prompt_lang

from . import raw_samples


def _case(rec: dict, info: dict):
    """Everything a round trip depends on: prompt language, the offered relation types, the target."""
    if rec.get("schema") != "kb":
        return None
    lang = prompt_lang(rec, info)
    types = offered_names(info, kb_label_kinds(info, rec)[1], lang)
    if not types:
        return None
    target = re_codec.gold_target(rec)
    return (lang, tuple(map(tuple, types)), tuple(map(tuple, target))), ({"lang": lang, "types": types}, target)


def test_round_trip_every_converted_dataset(shared_corpus):
    """Every distinct gold target of every re dataset in the converted corpus, in every answer phrasing."""
    cases, per_ds = raw_samples.distinct_cases(shared_corpus, "re", _case)
    assert {"CMeIE", "bc5cdr", "biored", "chemprot"} <= set(per_ds), per_ds
    assert per_ds["CMeIE"][1] > 3000 and per_ds["biored"][1] > 500 and len(cases) > 6000
    for meta, target in cases.values():
        n = len(load_templates("re", meta["lang"]).answers)
        for k in range(n):
            text = re_codec.render(target, dict(meta, phrasing=k))
            assert re_codec.parse(text, dict(meta, phrasing=(k + 1) % n)) == target, (meta, k, text)


def test_examples_per_type_and_eval(shared_corpus):
    info = orjson.loads((shared_corpus / "CMeIE" / "meta.json").read_bytes())
    # the catalog lists CMeIE's 44 predicates (53 schemas) as relation types, its entity types apart
    assert len(info["relation_types"]) == 44 and "手术治疗" in info["relation_types"] and "手术治疗" in info["entity_types"]
    recs = [r for r, i in raw_samples.corpus_records(shared_corpus, "re") if i["name"] == "CMeIE"][:50]
    assert len(recs) == 50
    for rec in recs:
        out = re_codec.examples(rec, random.Random(1), info)
        assert out[0].target == re_codec.gold_target(rec) and len(out[0].meta["types"]) == 44
        for ins in out:
            assert re_codec.parse(ins.messages[1]["content"], ins.meta) == ins.target
            assert {t for t, *_ in ins.target} <= {r for r, _ in ins.meta["types"]}
        assert len(re_codec.examples(rec, random.Random(1), info, mode="eval")) == 1


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
