"""Tests of the CHEMDNER reader on a small file in the original BioCreative IV format (the corpus is not in shared)."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.readers.chemdner import read_chemdner

ABS = "21826085\tEffects of lithium on mice.\tLithium chloride and valproic acid were given daily.\n"
ANN = "21826085\tT\t11\t18\tlithium\tTRIVIAL\n21826085\tA\t0\t16\tLithium chloride\tSYSTEMATIC\n21826085\tA\t21\t34\tvalproic acid\tTRIVIAL\n"


def _read(tmp_path, abs_text=ABS, ann=ANN):
    (tmp_path / "a.txt").write_text(abs_text)
    (tmp_path / "n.txt").write_text(ann)
    return list(read_chemdner(tmp_path, files={"train": ["a.txt", "n.txt"]}))


def test_title_and_abstract_offsets(tmp_path):
    (rec,) = _read(tmp_path)
    assert_valid([rec])
    assert [(e["text"][0], e["offsets"]) for e in rec["entities"]] == [
        ("lithium", [[11, 18]]), ("Lithium chloride", [[28, 44]]), ("valproic acid", [[49, 62]])]


def test_errors(tmp_path):
    with pytest.raises(DataError, match=r"n\.txt:1: T offsets \[12,18\] give 'ithium', not 'lithium'"):
        _read(tmp_path, ann="21826085\tT\t12\t18\tlithium\tTRIVIAL\n")
    with pytest.raises(DataError, match=r"n\.txt:1: PMID 1 has no abstract"):
        _read(tmp_path, ann="1\tT\t0\t1\tx\tTRIVIAL\n")
    with pytest.raises(DataError, match=r"a\.txt:1: expected 'PMID<TAB>Title<TAB>Abstract'"):
        _read(tmp_path, abs_text="21826085\tonly title\n")
