"""Tests of the ChemProt reader: all-relations mode on the real files, and malformed TSVs."""

from __future__ import annotations

import pytest

from taiyi.files import DataError
from taiyi.sources.catalog import get_entry
from taiyi.sources.readers.chemprot import read_chemprot


def test_all_relations_mode(shared_datasets):
    files = {"dev": get_entry("chemprot").reader_options["files"]["dev"]}
    recs = list(read_chemprot(shared_datasets / "ChemProt", files=files, relations="all"))
    assert len(recs) == 612 and sum(len(r["relations"]) for r in recs) == 3558  # SOURCE.md "all relations"


def _files(tmp_path, ents="1\tT1\tCHEMICAL\t0\t7\tAspirin\n1\tT2\tGENE-Y\t15\t20\tCOX-1\n",
           gold="1\tCPR:4\tArg1:T1\tArg2:T2\n"):
    (tmp_path / "a.tsv").write_text("1\tAspirin blocks\tCOX-1 activity.\n")
    (tmp_path / "e.tsv").write_text(ents)
    (tmp_path / "g.tsv").write_text(gold)
    return {"test": {"abstracts": "a.tsv", "entities": "e.tsv", "gold_standard": "g.tsv", "relations": "g.tsv"}}


def test_small_file(tmp_path):
    (rec,) = read_chemprot(tmp_path, files=_files(tmp_path))
    assert rec["relations"][0] == {"id": "R1", "type": "CPR:4", "arg1_id": "T1", "arg2_id": "T2", "normalized": []}


def test_bad_offsets_truncated_and_unknown_arg(tmp_path):
    with pytest.raises(DataError, match=r"e\.tsv:2: entity T2 at \[16,21\]"):
        list(read_chemprot(tmp_path, files=_files(tmp_path, ents="1\tT1\tCHEMICAL\t0\t7\tAspirin\n1\tT2\tGENE-Y\t16\t21\tCOX-1\n")))
    with pytest.raises(DataError, match=r"e\.tsv:1: expected at least 6 tab-separated fields, got 4 \(truncated"):
        list(read_chemprot(tmp_path, files=_files(tmp_path, ents="1\tT1\tCHEMICAL\t0\n")))
    with pytest.raises(DataError, match=r"g\.tsv:1: argument T9 is not an entity of PMID 1"):
        list(read_chemprot(tmp_path, files=_files(tmp_path, gold="1\tCPR:4\tArg1:T1\tArg2:T9\n")))
