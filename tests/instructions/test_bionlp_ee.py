"""bionlp_ee codec: nested events from kb records (ref_ids), rendering with E<n> references, exact round trip,
risky values quoted, sloppy answers, benchmark type restriction, and the real BioNLP-ST files when readable."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.evaluate.metrics import as_set, get_metric
from taiyi.instructions.tasks import bionlp_ee
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.registry import get_task, with_facts

TASK = get_task("bionlp_ee")
TEXT = "CD40 induces TRAF2 phosphorylation and binding of TRAF2 to E2."


def span(s: str, start: int = 0) -> tuple[list[str], list[list[int]]]:
    i = TEXT.index(s, start)
    return [s], [[i, i + len(s)]]


def ent(eid, s, start=0, etype="Protein"):
    t, o = span(s, start)
    return {"id": eid, "type": etype, "text": t, "offsets": o, "normalized": []}


def event(eid, etype, trig, args):
    t, o = span(trig)
    return {"id": eid, "type": etype, "trigger": {"text": t, "offsets": o},
            "arguments": [{"role": r, "ref_id": x} for r, x in args]}


def record(events) -> dict:
    return new_record("kb", id="PMID-1", document_id="PMID-1", dataset="bionlp_st_2011_ge", split="dev", lang="en",
                      passages=[{"id": "p", "type": "text", "text": [TEXT], "offsets": [[0, len(TEXT)]]}],
                      entities=[ent("T1", "CD40"), ent("T2", "TRAF2"), ent("T3", "TRAF2", 20), ent("T4", "E2")],
                      events=events)


EVENTS = [event("E1", "Phosphorylation", "phosphorylation", [("Theme", "T2")]),
          event("E2", "Positive_regulation", "induces", [("Theme", "E1"), ("Cause", "T1")]),
          event("E3", "Binding", "binding", [("Theme", "T3"), ("Theme2", "T4")]),
          event("E4", "Positive_regulation", "induces", [("Theme", "E3"), ("Cause", "T1")])]
PHOS = ["Phosphorylation", "phosphorylation", [["Theme", "TRAF2"]]]
BIND = ["Binding", "binding", [["Theme", "TRAF2"], ["Theme2", "E2"]]]
INFO = {"name": "bionlp_st_2011_ge", "lang": "en", "tasks": ["bionlp_ee", "ner"]}


def _every_phrasing(target, lang="en"):
    meta = {"lang": lang, "phrasing": 0}
    for k in range(len(load_templates("bionlp_ee", lang).answers)):
        text = TASK.render(target, meta, k)
        assert TASK.parse(text, meta) == target, text
        assert TASK.parse(f"  {text}\n\n", meta) == target


def test_gold_target_nests_events_and_lists_each_once():
    target = bionlp_ee.gold_target(record(EVENTS))
    assert target == bionlp_ee.canonical([
        PHOS, BIND,
        ["Positive_regulation", "induces", [["Cause", "CD40"], ["Theme", PHOS]]],
        ["Positive_regulation", "induces", [["Cause", "CD40"], ["Theme", BIND]]]])
    assert len(target) == 4 and len(as_set(target)) == 4


def test_render_is_readable_and_reads_back_exactly():
    target = bionlp_ee.gold_target(record(EVENTS))
    text = TASK.render(target, {"lang": "en", "phrasing": 0})
    lines = text.splitlines()
    assert lines[0] == 'E1: Binding | trigger: binding | Theme: TRAF2 | Theme2: "E2"'  # entity "E2" is quoted
    assert "Theme: E1" in text and "Theme: E" in lines[2] and "Cause: CD40" in lines[2]
    _every_phrasing(target)
    _every_phrasing(target, "zh")
    _every_phrasing([])


def test_examples_offer_the_dataset_event_types():
    rec = record(EVENTS)
    info = with_facts(TASK, INFO, lambda: iter([rec]))
    assert info["facts"]["bionlp_ee"] == {"types": ["Binding", "Phosphorylation", "Positive_regulation"]}
    (i,) = TASK.examples(rec, random.Random(0), info, mode="eval")
    assert i.target == bionlp_ee.gold_target(rec) and TEXT in i.messages[0]["content"]
    assert "Binding, Phosphorylation, Positive_regulation" in i.messages[0]["content"]
    cdee = dict(rec, events=[{"id": "E1", "type": "", "trigger": {"text": [], "offsets": []},
                              "arguments": [{"role": "core_name", "text": "咳嗽"}]}])
    assert TASK.examples(cdee, random.Random(0), info) == []  # clinical-finding events are the ee codec's


@pytest.mark.parametrize("value", ["E12", "a | b", '"quoted"', " padded ", "x：y: z", ""])
def test_risky_values_are_quoted_and_read_back(value):
    _every_phrasing([["Gene_expression", value, [["Theme", value]]]])


def test_sloppy_answers_and_dangling_references():
    meta = {"lang": "en", "phrasing": 0}
    text = ("Here are the events:\n- E7: Phosphorylation | Trigger: phosphorylation | Theme: TRAF2\n"
            "* E9 ： Positive_regulation ｜ trigger： induces ｜ Theme： E7 ｜ Cause： CD40\n"
            "E10: Binding | trigger: binding | Theme: E99")
    got = TASK.parse(text, meta)
    assert ["Positive_regulation", "induces", [["Cause", "CD40"], ["Theme", PHOS]]] in got and PHOS in got
    assert ["Binding", "binding", [["Theme", "E99"]]] in got  # unknown number: kept as text
    cyc = TASK.parse("E1: A | trigger: x | Theme: E2\nE2: B | trigger: y | Theme: E1", meta)
    assert ["B", "y", []] in cyc  # a cycle is cut where it closes, never followed forever
    assert TASK.parse("No events of the given types are described in this text.", meta) == []
    for bad in (None, "", " \n", "TRAF2 is phosphorylated."):
        with pytest.raises(ParseError):
            TASK.parse(bad, meta)


def test_micro_f1_counts_whole_events():
    gold = bionlp_ee.gold_target(record(EVENTS))
    pred = [e for e in gold if e[0] != "Binding"]  # the binding and the regulation nesting it are lost
    pred = [e for e in pred if BIND not in [a for _, a in e[2]]]
    res = get_metric("micro_f1")([pred], [gold], [{}])
    assert res["score"] == pytest.approx(100 * 2 * (2 / 2) * (2 / 4) / (1 + 2 / 4))


def test_restrict_drops_other_types_and_their_references():
    rec = TASK.restrict(record(EVENTS), lambda t: t if t != "Phosphorylation" else None)
    target = bionlp_ee.gold_target(rec)
    assert ["Positive_regulation", "induces", [["Cause", "CD40"]]] in target and PHOS not in target


@pytest.mark.parametrize("name", ["bionlp_st_2011_ge", "bionlp_shared_task_2009", "bionlp_st_2013_cg"])
def test_round_trip_on_the_real_files(shared_datasets, name):
    """Every labelled document of the real BioNLP-ST files reads back exactly in every phrasing, nested events
    included; the catalog routes these corpora to bionlp_ee, never to the clinical-finding ee codec."""
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    entry = get_entry(name)
    assert "bionlp_ee" in entry.data["tasks"] and "ee" not in entry.data["tasks"]
    splits = convert.read_dataset(name, shared_datasets)
    recs = [r for split in ("train", "dev") for r in splits[split]]
    info = with_facts(TASK, dict(entry.data), lambda: iter(recs))
    assert len(info["facts"]["bionlp_ee"]["types"]) >= 9
    nested = 0
    for n, rec in enumerate(recs):
        assert get_task("ee").examples(rec, random.Random(n), info) == [] or not rec["events"]
        (inst,) = TASK.examples(rec, random.Random(n), info, mode="eval")
        assert inst.target == bionlp_ee.gold_target(rec)
        nested += sum(isinstance(a, list) for ev in inst.target for _, a in ev[2])
        _every_phrasing(inst.target)
    assert nested > 1000
