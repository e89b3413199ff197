"""Tests of the BC2GM original-format reader: non-space offsets, the one off-by-one span, strict mode, errors."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.bc2gm import read_bc2gm

FILES = {"train": ["original/train/train.in", "original/train/GENE.eval"]}


def test_nonspace_offsets(tmp_path):
    (tmp_path / "s.in").write_text("S1 The IL - 2 gene and p53 protein.\n")
    (tmp_path / "g.eval").write_text("S1|3 10|IL - 2 gene\nS1|14 16|p53\n")
    (rec,) = read_bc2gm(tmp_path, files={"test": ["s.in", "g.eval"]})
    assert_valid([rec])
    assert [e["text"][0] for e in rec["entities"]] == ["IL - 2 gene", "p53"]


def test_real_train_off_by_one_is_repaired(shared_datasets):
    recs = {r["id"]: r for r in read_bc2gm(shared_datasets / "BC2GM", files=FILES)}
    ents = [e["text"][0] for e in recs["P02196565T0000"]["entities"]]
    assert "translation upstream factor" in ents
    with pytest.raises(DataError, match=r"GENE\.eval:1790: non-space offsets '162 187' do not give"):
        list(read_bc2gm(shared_datasets / "BC2GM", files=FILES, repair_window=0))


def test_errors(tmp_path):
    (tmp_path / "s.in").write_text("S1 The p53 protein.\n")
    (tmp_path / "g.eval").write_text("S2|0 2|p53\n")
    with pytest.raises(DataError, match=r"g\.eval:1: sentence S2 is not in s\.in"):
        list(read_bc2gm(tmp_path, files={"test": ["s.in", "g.eval"]}))
    (tmp_path / "g.eval").write_text("S1|3 five|p53\n")
    with pytest.raises(DataError, match=r"g\.eval:1: expected 'ID\|start end\|mention'"):
        list(read_bc2gm(tmp_path, files={"test": ["s.in", "g.eval"]}))
