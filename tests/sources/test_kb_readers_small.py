"""ppi_xml, token_votes and diakg on small hand-made files: offsets moved into the record text, and the errors."""

from __future__ import annotations

import json

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.registry import get_reader

PPI = """<corpus source="toy"><document id="t.d0" origId="99">
<sentence id="t.d0.s0" charOffset="0-20" text="A binds B and C.">
  <entity id="t.d0.s0.e0" charOffset="0-1" text="A" type="pm1||pm2"/>
  <entity id="t.d0.s0.e1" charOffset="8-9,14-15" text="B C" type="pm3"/>
  <interaction id="t.d0.s0.i0" e1="t.d0.s0.e0" e2="t.d0.s0.e1" type="PPI"/>
</sentence>
<sentence id="t.d0.s1" charOffset="21-30" text="D is E.">
  <entity id="t.d0.s1.e0" charOffset="5-6" text="E"/>
</sentence></document></corpus>"""


def test_ppi_xml_documents_and_sentences(tmp_path):
    (tmp_path / "p.xml").write_text(PPI, encoding="utf-8")
    [doc] = list(get_reader("ppi_xml")(tmp_path, files={"test": "p.xml"}, type_is_id="HPRD"))
    assert validate_records([doc]) == []
    assert [(e["text"], e["offsets"], [n["db_id"] for n in e["normalized"]]) for e in doc["entities"]] == [
        (["A"], [[0, 1]], ["pm1", "pm2"]), (["B", "C"], [[8, 9], [14, 15]], ["pm3"]), (["E"], [[22, 23]], [])]
    assert doc["id"] == "test-t.d0" and doc["document_id"] == "99" and doc["relations"][0]["arg2_id"] == "t.d0.s0.e1"
    sents = list(get_reader("ppi_xml")(tmp_path, files={"test": "p.xml"}, unit="sentence", relation_type="bind"))
    assert [s["id"] for s in sents] == ["test-t.d0.s0", "test-t.d0.s1"]
    assert sents[1]["entities"][0]["offsets"] == [[5, 6]] and sents[1]["entities"][0]["type"] == "protein"
    assert sents[0]["entities"][0]["type"] == "pm1||pm2" and sents[0]["relations"][0]["type"] == "bind"


@pytest.mark.parametrize("old, new, message", [
    ('charOffset="0-1" text="A"', 'charOffset="0-2" text="A"', r"entity t\.d0\.s0\.e0 charOffset 0-2 gives 'A ', not 'A'"),
    ('e2="t.d0.s0.e1"', 'e2="t.d0.s1.e0"', r"interaction t\.d0\.s0\.i0 names an entity not in its sentence"),
    ('charOffset="5-6"', 'charOffset="5-x"', r"malformed charOffset '5-x'"),
])
def test_ppi_xml_errors(tmp_path, old, new, message):
    (tmp_path / "p.xml").write_text(PPI.replace(old, new), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        list(get_reader("ppi_xml")(tmp_path, files={"test": "p.xml"}))


def test_token_votes_majority_and_errors(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"1:2": "Aspirin in old men ."}))
    votes = {"1:2": {"annotations": [[1, 0, 1, 1, 0], [1, 0, 0, 1, 0], [0, 0, 1, 1, 0]]}}
    (tmp_path / "p.json").write_text(json.dumps(votes))
    [rec] = list(get_reader("token_votes")(tmp_path, texts="s.json", annotations={"participant": "p.json"}))
    assert [(e["text"], e["offsets"]) for e in rec["entities"]] == [(["Aspirin"], [[0, 7]]), (["old men"], [[11, 18]])]
    assert validate_records([rec]) == [] and rec["id"] == "train-1:2" and rec["document_id"] == "1"
    [anyone] = list(get_reader("token_votes")(tmp_path, texts="s.json", annotations={"p": "p.json"}, min_votes=3))
    assert [e["text"] for e in anyone["entities"]] == [["men"]]
    (tmp_path / "p.json").write_text(json.dumps({"1:2": {"annotations": [[1, 0]]}}))
    with pytest.raises(DataError, match=r"p\.json: sentence 1:2: votes must be lists of 5 token marks"):
        list(get_reader("token_votes")(tmp_path, texts="s.json", annotations={"p": "p.json"}))


DIAKG = {"doc_id": "7", "paragraphs": [{"paragraph_id": "0", "paragraph": "二甲双胍。治疗2型糖尿病。", "sentences": [
    {"sentence_id": "0", "sentence": "二甲双胍。", "start_idx": 0, "end_idx": 5,
     "entities": [{"entity_id": "T0", "entity": "二甲双胍", "entity_type": "Drug", "start_idx": 0, "end_idx": 4}],
     "relations": []},
    {"sentence_id": "1", "sentence": "治疗2型糖尿病。", "start_idx": 5, "end_idx": 13,
     "entities": [{"entity_id": "T1", "entity": "2型糖尿病", "entity_type": "Disease", "start_idx": 2, "end_idx": 7},
                  {"entity_id": "T2", "entity": "治疗", "entity_type": "Treatment", "start_idx": 0, "end_idx": 2}],
     "relations": [{"relation_id": "R0", "relation_type": "Treatment_Disease", "head_entity_id": "T2",
                    "tail_entity_id": "T1"}]}]}]}


def test_diakg_paragraph_and_sentence_units(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps(DIAKG, ensure_ascii=False), encoding="utf-8")
    [par] = list(get_reader("diakg")(tmp_path, files={"train": "d.json"}))
    assert validate_records([par]) == [] and par["id"] == "train-7-0"
    assert [(e["id"], e["offsets"]) for e in par["entities"]] == [("T0", [[0, 4]]), ("T1", [[7, 12]]), ("T2", [[5, 7]])]
    sents = list(get_reader("diakg")(tmp_path, files={"train": "d.json"}, unit="sentence"))
    assert [s["id"] for s in sents] == ["train-7-0-0", "train-7-0-1"] and sents[1]["entities"][0]["offsets"] == [[2, 7]]
    bad = json.loads(json.dumps(DIAKG))
    bad["paragraphs"][0]["sentences"][1]["entities"][0]["end_idx"] = 6
    (tmp_path / "d.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"paragraph 0 sentence 1: entity T1 \[2,6\] gives '2型糖尿', not '2型糖尿病'"):
        list(get_reader("diakg")(tmp_path, files={"train": "d.json"}))
