"""Tests of the IOB/CoNLL reader on the real BLUE/BLURB token files (counts from SOURCE.md) and bad tags."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.conll import read_conll


def _stats(recs):
    out = {}
    for r in recs:
        n = out.setdefault(r["split"], [0, 0])
        n[0] += 1
        n[1] += len(r["entities"])
    return {k: tuple(v) for k, v in out.items()}


def test_bc5cdr_iob_counts(shared_datasets):
    recs = list(read_conll(shared_datasets / "BC5CDR", files={
        "train": "iob_chem_disease/train.tsv", "dev": "iob_chem_disease/devel.tsv", "test": "iob_chem_disease/test.tsv"}))
    assert_valid(recs)
    assert _stats(recs) == {"train": (4560, 9385), "dev": (4581, 9593), "test": (4797, 9809)}
    assert {e["type"] for r in recs for e in r["entities"]} == {"Chemical", "Disease"}


def test_jnlpba_blurb_untyped_and_official_iob2(shared_datasets):
    recs = list(read_conll(shared_datasets / "JNLPBA", default_type="bio-entity", files={
        "train": "blurb_conll/train.tsv", "dev": "iob_mtl/devel.tsv", "test": "iob_mtl/original-data/test/Genia4EReval1.iob2"}))
    assert_valid(recs)
    s = _stats(recs)
    assert s["train"] == (16807, 46750) and s["dev"] == (1739, 4551) and s["test"] == (3856, 8662)
    # 1,800 -DOCSTART- lines (SOURCE.md); id 97218353 is used twice
    assert len({r["document_id"] for r in recs if r["split"] == "train"}) == 1799
    assert {e["type"] for r in recs if r["split"] == "train" for e in r["entities"]} == {"bio-entity"}


def test_ncbi_and_bc2gm_iob(shared_datasets):
    ncbi = list(read_conll(shared_datasets / "NCBI-disease", default_type="Disease", files={
        "train": "iob/train.tsv", "dev": "iob/devel.tsv", "test": "iob/test.tsv"}))
    assert _stats(ncbi) == {"train": (5424, 5134), "dev": (923, 787), "test": (940, 960)}
    bc2 = list(read_conll(shared_datasets / "BC2GM", files={"train": "iob/train.tsv", "dev": "iob/devel.tsv",
                                                            "test": "iob/test.tsv"}))
    assert _stats(bc2) == {"train": (12574, 15197), "dev": (2519, 3061), "test": (5038, 6325)}


def test_offsets_and_iob1(tmp_path):
    (tmp_path / "a.tsv").write_text("Torsade\tI-Disease\nde\tI-Disease\npointes\tI-Disease\nwith\tO\nsotalol\tB-Chemical\n\n")
    (rec,) = read_conll(tmp_path, files={"test": "a.tsv"})
    assert_valid([rec])
    assert [(e["type"], e["text"][0], e["offsets"]) for e in rec["entities"]] == [
        ("Disease", "Torsade de pointes", [[0, 18]]), ("Chemical", "sotalol", [[24, 31]])]


def test_bad_tag_and_bad_line(tmp_path):
    (tmp_path / "a.tsv").write_text("x\tO\n\nAspirin\tX-Chemical\n")
    with pytest.raises(DataError, match=r"a\.tsv:3: token 1 'Aspirin' has tag 'X-Chemical'"):
        list(read_conll(tmp_path, files={"test": "a.tsv"}))
    (tmp_path / "a.tsv").write_text("x\tO\nlonely\n")
    with pytest.raises(DataError, match=r"a\.tsv:2: expected 'token<TAB>tag'"):
        list(read_conll(tmp_path, files={"test": "a.tsv"}))
