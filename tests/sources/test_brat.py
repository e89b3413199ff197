"""Tests of the brat standoff reader (T, discontinuous spans, R, E, N, *, layouts) and its errors; real corpora counts."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.convert import read_dataset
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


@pytest.mark.parametrize("spans,mention,texts", [
    ("0 1;3 8", "T cells", ["T", "cells"]),  # brat: fragments joined by one space
    ("0 1;3 8", "Tcells", ["T", "cells"]),  # joined by nothing
    ("0 1;3 8", "T, cells", ["T", "cells"]),  # the text from the first fragment to the last
    ("10 17", "B cells", ["B\ncells"]),  # a line break inside a span is written as a space
])
def test_fragment_joining_rules(tmp_path, spans, mention, texts):
    d = tmp_path / "train"
    d.mkdir()
    (d / "d.txt").write_text("T, cells; B\ncells")
    (d / "d.ann").write_text(f"T1\tcell_type {spans}\t{mention}\n")
    (rec,) = read_brat(tmp_path, dirs={"train": "train"})
    assert_valid([rec])
    assert rec["entities"][0]["text"] == texts


def test_a_wrong_fragment_is_an_error(tmp_path):
    _write(tmp_path, "T1\tcell_type 39 40;41 45\tT cells\n")  # second fragment ends one character early
    with pytest.raises(DataError, match=r"d1\.ann:1: span 39 40;41 45 gives 'T cell', not 'T cells'"):
        list(read_brat(tmp_path, dirs={"train": "train"}))


def test_annotations_in_another_folder_split_lists_and_text_file(tmp_path):
    (tmp_path / "txt").mkdir()
    (tmp_path / "ann").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "txt" / f"{name}.txt").write_text(TEXT)
        (tmp_path / "ann" / f"{name}.ann").write_text("T1\tprotein 0 4\tIL-2\nE1\tprotein:T1 \n")
    recs = list(read_brat(tmp_path, dirs={"train": "txt"}, ann_dirs={"train": "ann"}))
    assert [r["document_id"] for r in recs] == ["a", "b", "c"]
    assert not recs[0]["entities"] and recs[0]["events"][0]["trigger"]["text"] == ["IL-2"]  # a trigger only
    (tmp_path / "train.list").write_text("c\nb.txt\n")
    (tmp_path / "dev.list").write_text("a\n")
    recs = list(read_brat(tmp_path, dirs="txt", ann_dirs="ann", split_lists={"train": "train.list", "dev": "dev.list"}))
    assert [(r["split"], r["document_id"]) for r in recs] == [("train", "c"), ("train", "b"), ("dev", "a")]
    (tmp_path / "corpus.txt").write_text(f"a\t{TEXT}\nb\t{TEXT}\nc\t{TEXT}\n")
    recs = list(read_brat(tmp_path, dirs={"train": "ann"}, text_file="corpus.txt", events=False))
    assert len(recs) == 3 and all(r["entities"] and not r["events"] for r in recs)  # E lines ignored: T1 stays
    assert_valid(recs)
    (tmp_path / "corpus.txt").write_text(f"a\t{TEXT}\n")
    with pytest.raises(DataError, match=r"b\.ann: document b is not in .*corpus\.txt"):
        list(read_brat(tmp_path, dirs={"train": "ann"}, text_file="corpus.txt"))


# SOURCE.md counts: documents and T, R, Equiv lines per split (AnEM's attributes, A lines, are dropped)
REAL = {
    "an_em": {"train": (250, 1616, 43, 10), "dev": (50, 263, 11, 2), "test": (200, 1256, 28, 14)},
    "anat_em": {"train": (606, 6946, 0, 0), "dev": (202, 2139, 0, 0), "test": (404, 4616, 0, 0)},
    "verspoor_2013": {"train": (120, 6991, 4650, 0)},
    "seth_corpus": {"train": (630, 3219, 593, 0)},
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_corpus_counts(shared_datasets, name):
    got = read_dataset(name, shared_datasets)  # the catalog entry's reader options; validated by read_dataset
    counts = {s: (len(rs), *(sum(len(r[k]) for r in rs) for k in ("entities", "relations", "coreferences")))
              for s, rs in got.items()}
    assert counts == REAL[name]
    assert not any(r["events"] for rs in got.values() for r in rs)
