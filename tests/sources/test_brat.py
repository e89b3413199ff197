"""Tests of the brat standoff reader (T, discontinuous spans, R, E, N, *) and its errors."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.brat import read_brat

TEXT = "IL-2 gene expression requires NF-kB in T cells."
ANN = ("T1\tprotein 0 4\tIL-2\nT2\tDNA 0 9\tIL-2 gene\nT3\tprotein 30 35\tNF-kB\nT4\tcell_type 39 40;41 46\tT cells\n"
       "T5\tGene_expression 10 20\texpression\nE1\tGene_expression:T5 Theme:T2\nR1\tRegulates Arg1:T3 Arg2:T2\n"
       "N1\tReference T3 UniProt:P19838\t NF-kB\n*\tEquiv T1 T2\nA1\tNegation E1\n")


def _write(tmp_path, ann=ANN, name="d1"):
    d = tmp_path / "train"
    d.mkdir(exist_ok=True)
    (d / f"{name}.txt").write_text(TEXT)
    (d / f"{name}.ann").write_text(ann)


def test_reads_all_kinds(tmp_path):
    _write(tmp_path)
    (rec,) = read_brat(tmp_path, dirs={"train": "train"})
    assert_valid([rec])
    assert rec["id"] == "train_d1" and rec["document_id"] == "d1"
    ents = {e["id"]: e for e in rec["entities"]}
    assert ents["T4"]["offsets"] == [[39, 40], [41, 46]] and ents["T4"]["text"] == ["T", "cells"]
    assert ents["T3"]["normalized"] == [{"db_name": "UniProt", "db_id": "P19838"}]
    assert rec["relations"][0]["arg1_id"] == "T3"
    assert rec["events"][0]["arguments"] == [{"role": "Theme", "ref_id": "T2"}]
    assert rec["coreferences"][0]["entity_ids"] == ["T1", "T2"]


def test_bad_span(tmp_path):
    _write(tmp_path, "T1\tprotein 0 5\tIL-2\n")
    with pytest.raises(DataError, match=r"d1\.ann:1: span 0 5 gives 'IL-2 ', not 'IL-2'"):
        list(read_brat(tmp_path, dirs={"train": "train"}))


def test_missing_ann_and_malformed_line(tmp_path):
    _write(tmp_path, "T1\tprotein zero 4\tIL-2\n")
    with pytest.raises(DataError, match=r"d1\.ann:1: malformed standoff line"):
        list(read_brat(tmp_path, dirs={"train": "train"}))
    (tmp_path / "train" / "d1.ann").unlink()
    with pytest.raises(DataError, match="annotation file d1.ann is missing"):
        list(read_brat(tmp_path, dirs={"train": "train"}))
