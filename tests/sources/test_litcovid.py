"""Tests of the LitCovid reader: the real label samples (counts from SOURCE.md) and the BC7 CSV format."""

from __future__ import annotations

from collections import Counter

import pytest

from taiyi.files import DataError
from taiyi.sources.readers.litcovid import read_label_samples, read_litcovid

HEADER = "pmid,journal,title,abstract,keywords,pub_type,authors,doi,label\n"


def test_label_samples(shared_datasets):
    labels = read_label_samples(shared_datasets / "LitCovid" / "goldstandard_label_samples.csv")
    assert len(labels) == 2551
    assert Counter(t for ls in labels.values() for t in ls) == {
        "Treatment": 1087, "Diagnosis": 472, "Prevention": 1280, "Mechanism": 518, "Transmission": 279,
        "Epidemic Forecasting": 178, "Case Report": 50}


def test_label_samples_refused_as_corpus(shared_datasets):
    with pytest.raises(DataError, match="label-sample file"):
        list(read_litcovid(shared_datasets / "LitCovid", files={"test": "goldstandard_label_samples.csv"}))


def test_bc7_csv(tmp_path):
    (tmp_path / "t.csv").write_text(HEADER + '1,J,"Masks, again",Abstract text.,kw,Journal Article,A,10/1,Prevention;Transmission\n')
    (rec,) = read_litcovid(tmp_path, files={"train": "t.csv"})
    assert rec["text"] == "Masks, again Abstract text." and rec["labels"] == ["Prevention", "Transmission"]


def test_bad_rows(tmp_path):
    (tmp_path / "t.csv").write_text(HEADER + "1,J,T,A,kw,pt,au,doi,Astrology\n")
    with pytest.raises(DataError, match=r"t\.csv:2: unknown topic\(s\) \['Astrology'\]"):
        list(read_litcovid(tmp_path, files={"train": "t.csv"}))
    (tmp_path / "t.csv").write_text(HEADER + "1,J,T\n")
    with pytest.raises(DataError, match=r"t\.csv:2: 3 fields, header has 9"):
        list(read_litcovid(tmp_path, files={"train": "t.csv"}))
