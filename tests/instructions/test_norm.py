"""norm codec: candidates (gold + seeded distractors from the dataset vocabulary), round trip on synthetic records
and on the real CHIP-CDN / NCBI-disease / BC5CDR files, sloppy answers, dataset facts."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import norm
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.registry import get_task, with_facts

TASK = get_task("norm")
CDN = {"name": "CHIP-CDN", "lang": "zh", "tasks": ["norm"]}


def cdn(rid: str, text: str, terms: str) -> dict:
    return new_record("t2t", id=rid, document_id=rid, dataset="CHIP-CDN", split="dev", lang="zh", text_1=text,
                      text_2=terms, text_1_name="diagnosis", text_2_name="normalized_terms")


RECS = [cdn("1", "卵巢Ca", "卵巢恶性肿瘤##癌"), cdn("2", "右侧海绵窦癌", "颅内恶性肿瘤##癌"),
        cdn("3", "2型糖尿病", "2型糖尿病"), cdn("4", "高血压3级", "高血压##高血压3级"), cdn("5", "肺部感染", "肺部感染")]


def _every_phrasing(inst):
    for k in range(len(load_templates("norm", inst.lang).answers)):
        text = TASK.render(inst.target, inst.meta, k)
        assert TASK.parse(text, inst.meta) == inst.target, (k, text)


def test_facts_and_eval_candidates_hold_gold_and_seeded_distractors():
    info = with_facts(TASK, CDN, lambda: iter(RECS))
    vocab = info["facts"]["norm"]["vocab"][""]
    assert sorted(vocab) == sorted({"卵巢恶性肿瘤", "癌", "颅内恶性肿瘤", "2型糖尿病", "高血压", "高血压3级", "肺部感染"})
    (a,) = TASK.examples(RECS[0], random.Random(7), info, mode="eval")
    (b,) = TASK.examples(RECS[0], random.Random(7), info, mode="eval")
    assert a.target == ["卵巢恶性肿瘤", "癌"] and a.meta == b.meta and a.messages == b.messages
    offered = [raw for raw, _ in a.meta["options"]]
    assert set(a.target) <= set(offered) and 4 <= len(offered) <= 6 and set(offered) <= set(vocab)
    assert "卵巢Ca" in a.messages[0]["content"] and all(o in a.messages[0]["content"] for o in offered)
    _every_phrasing(a)


def test_train_mode_sometimes_offers_no_gold_and_teaches_the_empty_answer():
    info = with_facts(TASK, CDN, lambda: iter(RECS))
    made = [i for n in range(200) for i in TASK.examples(RECS[3], random.Random(n), info, mode="train")]
    empty = [i for i in made if not i.target]
    assert 5 <= len(empty) <= 45  # NO_GOLD_PROB = 0.1
    for i in empty:
        assert not {"高血压", "高血压3级"} & {r for r, _ in i.meta["options"]}
        assert i.messages[1]["content"] in load_templates("norm", "zh").empty
        _every_phrasing(i)


def test_without_facts_the_gold_alone_is_offered():
    (i,) = TASK.examples(RECS[0], random.Random(0), CDN, mode="eval")
    assert sorted(r for r, _ in i.meta["options"]) == ["卵巢恶性肿瘤", "癌"]


def test_kb_mentions_become_concept_prompts():
    text = "Aspirin induced asthma. Aspirin is an NSAID."
    ents = [{"id": "T1", "type": "Chemical", "text": ["Aspirin"], "offsets": [[0, 7]],
             "normalized": [{"db_name": "MESH", "db_id": "D001241"}]},
            {"id": "T2", "type": "Disease", "text": ["asthma"], "offsets": [[16, 22]],
             "normalized": [{"db_name": "MESH", "db_id": "D001249"}]},
            {"id": "T3", "type": "Chemical", "text": ["Aspirin"], "offsets": [[24, 31]],
             "normalized": [{"db_name": "MESH", "db_id": "D001241"}]},
            {"id": "T4", "type": "Chemical", "text": ["NSAID"], "offsets": [[38, 43]], "normalized": []}]
    rec = new_record("kb", id="d1", document_id="d1", dataset="bc5cdr", split="test", lang="en",
                     passages=[{"id": "p", "type": "abstract", "text": [text], "offsets": [[0, len(text)]]}], entities=ents)
    assert norm.term_items(rec) == [("Chemical", "Aspirin", ["MESH:D001241"]), ("Disease", "asthma", ["MESH:D001249"])]
    info = {"name": "bc5cdr", "lang": "en", "label_names": {"Chemical": {"en": "chemical", "zh": "化学物质"}}}
    info = with_facts(TASK, info, lambda: iter([rec]))
    assert info["facts"]["norm"]["vocab"] == {"Chemical": {"MESH:D001241": "Aspirin"}, "Disease": {"MESH:D001249": "asthma"}}
    made = TASK.examples(rec, random.Random(0), info, mode="eval")
    assert [i.target for i in made] == [["MESH:D001241"], ["MESH:D001249"]]
    assert made[0].meta["options"] == [["MESH:D001241", "MESH:D001241 (Aspirin)"]] and text in made[0].messages[0]["content"]
    for i in made:
        _every_phrasing(i)


def test_sloppy_answers():
    meta = {"lang": "zh", "phrasing": 0, "kind": "term",
            "options": [["卵巢恶性肿瘤", "卵巢恶性肿瘤"], ["癌", "癌"], ["恶性肿瘤", "恶性肿瘤"], ["肺炎", "肺炎"]]}
    assert TASK.parse("答案：卵巢恶性肿瘤、癌。", meta) == ["卵巢恶性肿瘤", "癌"]
    assert TASK.parse("**标准词**：恶性肿瘤", meta) == ["恶性肿瘤"]  # not the longer option it is part of
    assert TASK.parse("卵巢恶性肿瘤", meta) == ["卵巢恶性肿瘤"]  # the shorter options inside it are not named
    assert TASK.parse("没有对应的标准化实体。", meta) == []
    for bad in (None, "", "  ", "我不知道"):
        with pytest.raises(ParseError):
            TASK.parse(bad, meta)


@pytest.mark.parametrize("name,split", [("CHIP-CDN", "dev"), ("ncbi_disease", "dev"), ("bc5cdr", "test")])
def test_round_trip_on_the_real_files(shared_datasets, name, split):
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    recs = list(convert.read_dataset(name, shared_datasets)[split])
    info = with_facts(TASK, dict(get_entry(name).data), lambda: iter(recs))
    n = 0
    for k, rec in enumerate(recs):
        for mode in ("eval", "train"):
            for inst in TASK.examples(rec, random.Random(k), info, mode=mode):
                n += 1
                if mode == "eval":
                    assert inst.target and set(inst.target) <= {r for r, _ in inst.meta["options"]}
                _every_phrasing(inst)
    assert n >= len(recs)
