"""BioCreative VII LitCovid (track 5) CSV -> text records (multi-label topics).

Why: the BC7 track-5 files are CSV ``pmid,journal,title,abstract,keywords,pub_type,authors,doi,label`` with
``;``-separated labels. The official evaluation repo also ships label-sample CSVs (``PMID`` + 7 binary topic
columns, no text); those carry no document, so they are read as label sets only (``read_label_samples``)
for metric code, and refused as a corpus with a clear message.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

TOPICS = ("Treatment", "Diagnosis", "Prevention", "Mechanism", "Transmission", "Epidemic Forecasting", "Case Report")


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: empty file") from None

    def rows():
        try:
            for row in reader:
                if row:
                    yield reader.line_num, row
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None

    return header, rows()


def read_label_samples(path: str | Path) -> dict[str, list[str]]:
    """``{PMID: [topics]}`` from a label-sample CSV (``PMID`` + one 0/1 column per topic)."""
    path = Path(path)
    header, rows = _csv_rows(path)
    if header[:1] != ["PMID"] or set(header[1:]) - set(TOPICS):
        raise DataError(f"{path}:1: expected header PMID,{','.join(TOPICS)}; got {','.join(header)}")
    out = {}
    for no, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path}:{no}: {len(row)} fields, header has {len(header)}")
        if any(v not in ("0", "1") for v in row[1:]):
            raise DataError(f"{path}:{no}: topic columns must be 0 or 1, got {row[1:]}")
        out[row[0]] = [t for t, v in zip(header[1:], row[1:]) if v == "1"]
    return out


@register_reader("litcovid")
def read_litcovid(root: Path, *, files: dict[str, str], dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """BC7 track-5 CSVs (``files: {split: relative path}``); text = title + " " + abstract."""
    for split, rel in files.items():
        path = Path(root) / rel
        header, rows = _csv_rows(path)
        cols = {c.strip().lower(): i for i, c in enumerate(header)}
        if "pmid" in cols and "title" not in cols:
            raise DataError(f"{path}:1: this is a label-sample file (no title/abstract columns); "
                            f"use taiyi.sources.readers.litcovid.read_label_samples for label sets")
        missing = {"pmid", "title", "abstract"} - set(cols)
        if missing:
            raise DataError(f"{path}:1: missing column(s) {sorted(missing)} in header {header}")
        has_label = "label" in cols
        for no, row in rows:
            if len(row) != len(header):
                raise DataError(f"{path}:{no}: {len(row)} fields, header has {len(header)} (truncated or unquoted comma?)")
            pmid = row[cols["pmid"]].strip()
            labels = [lab.strip() for lab in row[cols["label"]].split(";") if lab.strip()] if has_label else []
            bad = [lab for lab in labels if lab not in TOPICS]
            if bad:
                raise DataError(f"{path}:{no}: unknown topic(s) {bad} for PMID {pmid}")
            text = " ".join(x for x in (row[cols["title"]].strip(), row[cols["abstract"]].strip()) if x)
            yield new_record("text", id=pmid, document_id=pmid, dataset=dataset, split=split if has_label else "test_unlabelled",
                             lang=lang, text=text, labels=labels)
