"""Tests of the BioC XML reader (bioc package) on the real BioRED files and on malformed XML."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.bioc_xml import read_bioc_xml


def test_biored_bioc_matches_pubtator_counts(shared_datasets):
    recs = list(read_bioc_xml(shared_datasets / "BioRED", id_separators=",",
                              files={"dev": "bioc_xml/Dev.BioC.XML", "test": "bioc_xml/Test.BioC.XML"}))
    assert_valid(recs)
    by = {s: [r for r in recs if r["split"] == s] for s in ("dev", "test")}
    assert [len(by["dev"]), sum(len(r["entities"]) for r in by["dev"]), sum(len(r["relations"]) for r in by["dev"])] == [100, 3533, 1162]
    assert sum(len(r["relations"]) for r in by["test"]) == 1163


def test_bc5cdr_skips_individual_mentions(shared_datasets):
    recs = list(read_bioc_xml(shared_datasets / "BC5CDR", files={"test": "bioc/CDR_TestSet.BioC.xml"}))
    assert len(recs) == 500 and sum(len(r["entities"]) for r in recs) == 9809  # 9,928 annotations - 119 parts
    assert sum(len(r["relations"]) for r in recs) == 1066
    assert {r["type"] for rec in recs for r in rec["relations"]} == {"CID"}


def test_malformed_xml(tmp_path):
    (tmp_path / "x.xml").write_text("<collection><document><id>1</id><passage>")
    with pytest.raises(DataError, match=r"x\.xml: malformed BioC XML"):
        list(read_bioc_xml(tmp_path, files={"test": "x.xml"}))
