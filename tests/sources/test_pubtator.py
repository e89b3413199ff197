"""Tests of the PubTator reader: relation lines, composite ids, duplicates, and malformed input."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.pubtator import read_pubtator

DOC = ("10|t|Lithium and ataxia.\n10|a|Lithium toxicity caused ataxia and tremor.\n"
       "10\t0\t7\tLithium\tChemical\tD008094\n10\t20\t27\tLithium\tChemical\tD008094\n"
       "10\t12\t18\tataxia\tDisease\tD001259\n10\t44\t60\tataxia and tremor\tDisease\tD001259|D014202\tataxia|tremor\n"
       "10\tCID\tD008094\tD014202\n")


def _read(tmp_path, text, **opts):
    (tmp_path / "x.txt").write_text(text)
    return list(read_pubtator(tmp_path, files={"train": "x.txt"}, **opts))


def test_relations_point_at_first_mentions(tmp_path):
    text = DOC.replace("10\t44\t60\tataxia and tremor", "10\t44\t61\tataxia and tremor")
    (rec,) = _read(tmp_path, text)
    assert_valid([rec])
    assert rec["passages"][1]["offsets"] == [[20, 62]]
    assert [e["text"][0] for e in rec["entities"]] == ["Lithium", "Lithium", "ataxia", "ataxia and tremor"]
    assert rec["entities"][3]["normalized"] == [{"db_name": "MESH", "db_id": "D001259"}, {"db_name": "MESH", "db_id": "D014202"}]
    (rel,) = rec["relations"]
    assert (rel["type"], rel["arg1_id"], rel["arg2_id"]) == ("CID", "T1", "T4")


def test_bad_offsets_name_file_and_line(tmp_path):
    with pytest.raises(DataError, match=r"x\.txt:6: mention 'ataxia and tremor' at \[44,60\]"):
        _read(tmp_path, DOC)


def test_truncated_document(tmp_path):
    with pytest.raises(DataError, match=r"x\.txt:1: document 10 has a title but no abstract"):
        _read(tmp_path, "10|t|Lithium and ataxia.\n")


def test_relation_to_unknown_concept(tmp_path):
    text = DOC.replace("D014202\n", "D999999\n").replace("10\t44\t60", "10\t44\t61")
    with pytest.raises(DataError, match=r"D999999.*no mention in document 10"):
        _read(tmp_path, text)


def test_garbage_line_and_wrong_encoding(tmp_path):
    with pytest.raises(DataError, match=r"x\.txt:3: cannot parse line with 2"):
        _read(tmp_path, "10|t|A.\n10|a|B.\n10\tjunk\n")
    (tmp_path / "x.txt").write_bytes("10|t|锂中毒\n".encode("gb18030"))
    with pytest.raises(DataError, match=r"x\.txt:1: cannot decode .* as utf-8"):
        list(read_pubtator(tmp_path, files={"train": "x.txt"}))


def test_conflicting_duplicate_pmid(tmp_path):
    block = "10|t|A.\n10|a|B.\n\n"
    assert len(_read(tmp_path, block + block)) == 1  # identical copies kept once
    with pytest.raises(DataError, match="PMID 10 appears twice with different content"):
        _read(tmp_path, block + block.replace("B.", "C."))
