"""NER codec: template counts, exact round-trip on real data, sloppy answers, strict micro-F1 (vs seqeval)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from taiyi.corpus.schema import make_passages, new_record
from taiyi.instructions.tasks import ner
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.labels import kb_label_kinds, offered_names
from taiyi.text import record_lang as prompt_lang

from . import raw_samples

INFO_ZH = {"name": "CMeEE", "lang": "zh", "tasks": ["ner"], "schema": "kb",
           "label_names": {"dis": {"zh": "疾病", "en": "disease"}, "sym": {"zh": "临床表现", "en": "symptom"},
                           "dru": {"zh": "药物", "en": "drug"}, "bod": {"zh": "身体部位", "en": "body part"}}}
INFO_EN = {"name": "BC5CDR", "lang": "en", "tasks": ["ner", "re"], "schema": "kb",
           "label_names": {"Chemical": {"zh": "化学物质", "en": "chemical"}, "Disease": {"zh": "疾病", "en": "disease"}}}


def _case(rec: dict, info: dict):
    """Everything a round trip depends on: prompt language, the offered types (all of the dataset's), the target."""
    if rec.get("schema") != "kb":
        return None
    lang = prompt_lang(rec, info)
    types = offered_names(info, kb_label_kinds(info, rec)[0], lang)
    if not types:
        return None
    target = ner.gold_target(rec)
    return (lang, tuple(map(tuple, types)), tuple(map(tuple, target))), ({"lang": lang, "types": types}, target)


def _cmeee_like():
    text = "患者有哮喘病史，近日咳嗽、咳痰，服用阿司匹林。"
    ents = [("dis", "哮喘", 3), ("sym", "咳嗽、咳痰", 10), ("dru", "阿司匹林", 18)]
    return new_record("kb", id="1", document_id="d1", dataset="CMeEE", split="dev", lang="zh",
                      passages=make_passages([("sentence", text)]),
                      entities=[{"id": str(i), "type": t, "text": [m], "offsets": [[s, s + len(m)]], "normalized": []}
                                for i, (t, m, s) in enumerate(ents)])


def test_examples_decompose_by_type_and_eval_is_one_prompt():
    rec = _cmeee_like()
    out = ner.examples(rec, random.Random(0), INFO_ZH, mode="train")
    assert out[0].target == [["dis", "哮喘"], ["dru", "阿司匹林"], ["sym", "咳嗽、咳痰"]]
    per_type = {tuple(t for t, _ in i.meta["types"]): i.target for i in out[1:]}
    assert per_type[("dis",)] == [["dis", "哮喘"]] and per_type[("sym",)] == [["sym", "咳嗽、咳痰"]]
    for ins in out:
        assert "患者有哮喘病史" in ins.messages[0]["content"]
        assert ner.parse(ins.messages[1]["content"], ins.meta) == ins.target
        assert ins.template_id.startswith("ner.zh.")
    # some per-type prompts ask for an absent type (empty answer)
    empties = [i for seed in range(20) for i in ner.examples(rec, random.Random(seed), INFO_ZH) if not i.target]
    assert empties and ner.parse(empties[0].messages[1]["content"], empties[0].meta) == []
    ev = ner.examples(rec, random.Random(3), INFO_ZH, mode="eval")
    assert len(ev) == 1 and len(ev[0].meta["types"]) == 4
    assert ev == ner.examples(rec, random.Random(3), INFO_ZH, mode="eval")


def test_round_trip_every_converted_dataset(shared_corpus):
    """Every distinct gold target of every ner dataset in the converted corpus, in every answer phrasing."""
    cases, per_ds = raw_samples.distinct_cases(shared_corpus, "ner", _case)
    assert {"CMeEE-V2", "bc5cdr", "ncbi_disease", "bc2gm", "jnlpba", "biored"} <= set(per_ds), per_ds
    assert per_ds["CMeEE-V2"][1] > 4000 and per_ds["bc5cdr"][1] > 1000 and len(cases) > 20000
    for meta, target in cases.values():
        n = len(load_templates("ner", meta["lang"]).answers)
        for k in range(n):
            text = ner.render(target, dict(meta, phrasing=k))
            # parse prefers another phrasing than the one written, so every line must be recognised on its own
            assert ner.parse(text, dict(meta, phrasing=(k + 1) % n)) == target, (meta, k, text)


META_ZH = {"lang": "zh", "phrasing": 0, "types": [["dis", "疾病"], ["dru", "药物"]]}
META_EN = {"lang": "en", "phrasing": 0, "types": [["Chemical", "chemical"], ["Disease", "disease"]]}


@pytest.mark.parametrize(
    "text, meta, want",
    [
        ("疾病:哮喘;慢阻肺\n药物：阿司匹林", META_ZH, [["dis", "哮喘"], ["dis", "慢阻肺"], ["dru", "阿司匹林"]]),
        ("答案：疾病 ： 哮喘 ， 慢阻肺 。药物：阿司匹林", META_ZH, [["dis", "哮喘"], ["dis", "慢阻肺"], ["dru", "阿司匹林"]]),
        ("1. 哮喘（疾病）\n2. 阿司匹林(药物)\n以上是文中全部的实体。", META_ZH, [["dis", "哮喘"], ["dru", "阿司匹林"]]),
        ("• 哮喘 (疾病)", META_ZH, [["dis", "哮喘"]]),
        ("疾病：\n* 哮喘\n* 慢阻肺\n药物：无", META_ZH, [["dis", "哮喘"], ["dis", "慢阻肺"]]),
        ("Answer: CHEMICAL: aspirin;  ibuprofen \nDisease : asthma\n\nLet me know if you need more.", META_EN,
         [["Chemical", "aspirin"], ["Chemical", "ibuprofen"], ["Disease", "asthma"]]),
        ("- aspirin (Chemical)\n- asthma (disease)", META_EN, [["Chemical", "aspirin"], ["Disease", "asthma"]]),
        ("The text mentions the following disease entities: asthma, COPD.", META_EN, [["Disease", "COPD"], ["Disease", "asthma"]]),
        ("chemical: 1,2-dichloroethane", META_EN, [["Chemical", "1,2-dichloroethane"]]),
        ("No entities of the requested types were found", META_EN, []),
        ("未发现相关实体。", META_ZH, []),
    ],
)
def test_sloppy_answers(text, meta, want):
    assert ner.parse(text, meta) == want


@pytest.mark.parametrize("garbage", ["I am not sure what you mean.", "这段文字讲的是一个病例。", "", "   "])
def test_garbage_raises(garbage):
    with pytest.raises(ParseError):
        ner.parse(garbage, META_EN)


@pytest.mark.parametrize("name, asked", [("bionlp_st_2011_ge", ["Protein"]), ("bionlp_st_2013_ge", ["Protein"]),
                                         ("bionlp_st_2011_rel", ["Protein"])])
def test_types_annotated_only_for_events_are_not_asked_for(shared_corpus, name, asked):
    """BioNLP-ST corpora annotate "Entity" (sites, locations) only where an event or relation needs it, so asking a
    model to list every entity would train it to miss most of them: ner offers and answers only ``ner_types``."""
    import orjson

    info = orjson.loads((shared_corpus / name / "meta.json").read_bytes())
    assert info["ner_types"] == asked
    checked = answered = 0
    for line in (shared_corpus / name / "train.jsonl").read_bytes().splitlines():
        rec = orjson.loads(line)
        if not any(e["type"] not in asked for e in rec["entities"]):
            continue
        for inst in ner.examples(rec, random.Random(checked), info, mode="train"):
            assert {t for t, _ in inst.meta["types"]} <= set(asked)
            assert {t for t, _ in inst.target} <= set(asked)
            answered += bool(inst.target)
        checked += 1
        if checked == 20:
            break
    assert checked == 20 and answered >= 15  # records that do annotate other types were seen, their proteins asked for


def test_ner_types_must_be_labels():
    import yaml

    from taiyi.sources.catalog import check_entry

    src = Path(__file__).resolve().parents[2] / "src/taiyi/sources/catalog/bionlp_st_2011_ge.yaml"
    data = yaml.safe_load(src.read_text())
    assert check_entry(data, src) == []
    data["ner_types"] = ["Protein", "Gene"]
    errs = check_entry(data, src)
    assert len(errs) == 1 and "ner_types ['Gene'] are not in label_names" in errs[0] and str(src) in errs[0]
