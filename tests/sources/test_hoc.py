"""Tests of the HoC readers: raw corpus counts, sentence level BLURB, label flags, errors."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.hoc import HALLMARKS, read_hoc_blurb, read_hoc_raw


def test_raw_corpus(shared_datasets):
    recs = list(read_hoc_raw(shared_datasets / "HoC"))
    assert_valid(recs)
    assert len(recs) == 1852  # SOURCE.md
    assert all(set(r["labels"]) <= set(HALLMARKS) for r in recs)
    assert sum(1 for r in recs if r["labels"]) > 500


def test_blurb_sentence_level(shared_datasets):
    recs = list(read_hoc_blurb(shared_datasets / "HoC", files={"dev": "blurb_tsv/dev.tsv", "test": "blurb_tsv/test.tsv"},
                               level="sentence"))
    assert sum(r["split"] == "dev" for r in recs) == 1798 and sum(r["split"] == "test" for r in recs) == 3547


def test_bad_flags_and_header(tmp_path):
    (tmp_path / "t.tsv").write_text("labels\tsentence\tindex\n0_0,1_1\tText .\t1_s0\n")
    with pytest.raises(DataError, match=r"t\.tsv:2: expected 10 label flags"):
        list(read_hoc_blurb(tmp_path, files={"test": "t.tsv"}))
    (tmp_path / "t.tsv").write_text("x\ty\n")
    with pytest.raises(DataError, match=r"t\.tsv:1: expected the header"):
        list(read_hoc_blurb(tmp_path, files={"test": "t.tsv"}))
