"""Delimited text (CSV, TSV, headerless word-pair lists) -> pairs / text / qa / t2t records, mapped in YAML.

Why: similarity lists (BIOSSES, UMNSRS, MayoSRS, Bio-SimLex, EHR-Rel), paraphrase pairs (MQP, COVID_Similarity)
and sentence labels (GAD, GEOKhoj) are one row per item; the catalog names the columns and no code is written.
Columns are named by header (``header: true``), by ``columns:`` for headerless files, or by 0-based index.
Record ids are ``<split>-<id column>`` or ``<split>-<line>`` (``<split>-<file stem>-<line>`` when a split has
several files), so every error and every record leads back to a line of the original file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, Literal

from pydantic import model_validator

from taiyi.files import DataError
from taiyi.sources.fieldmap import MappedOptions, Spec, _specs, options_model, parse_options, rows_to_records
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

READER = "delimited"


class DelimitedOptions(MappedOptions):
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True  # the first row names the columns
    columns: list[str] | None = None  # column names of a headerless file
    quoting: Literal["minimal", "none"] = "minimal"  # "none": quotes are text (TSV that never quotes)
    skip_blank: bool = True  # rows whose cells are all empty are not items

    @model_validator(mode="after")
    def _columns_only_without_header(self) -> "DelimitedOptions":
        if self.header and self.columns:
            raise ValueError("columns names the columns of a headerless file; with header: true the first row does")
        return self


def all_specs(opts: MappedOptions) -> list[Spec]:
    out = [s for spec in opts.fields.values() for s in _specs(spec)]
    return out + [s for s in (opts.id, opts.document_id) if s is not None]


def column_index(names: list[str], specs: list[Spec], where: str) -> dict[Spec, int]:
    """Spec -> column index; a name not among the columns is an error listing them."""
    index: dict[Spec, int] = {}
    for s in specs:
        if isinstance(s, int):
            index[s] = s
        elif s in names:
            index[s] = names.index(s)
        else:
            raise DataError(f"{where}: no column {s!r}; columns: {names}")
    return index


def read_rows(path: Path, opts: DelimitedOptions) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells) of a delimited file."""
    text = read_text(path, opts.encoding)
    quoting = csv.QUOTE_NONE if opts.quoting == "none" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=opts.delimiter, quoting=quoting)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed {opts.delimiter!r}-delimited row ({exc})") from None


@register_reader(READER)
@options_model(DelimitedOptions)
def read_delimited(root: Path, **options) -> Iterator[dict]:
    """One record per row of each split's file(s) (see ``DelimitedOptions`` and ``fieldmap.MappedOptions``)."""
    opts = parse_options(DelimitedOptions, READER, options)
    for split, paths in opts.split_files(root):
        yield from rows_to_records(opts, split, _rows(paths, opts))


def _rows(paths: list[Path], opts: DelimitedOptions):
    specs = all_specs(opts)
    for path in paths:
        rows = read_rows(path, opts)
        names = list(opts.columns or [])
        if opts.header:
            first = next(rows, None)
            if first is None:
                raise DataError(f"{path}: empty file (expected a header row)")
            names = first[1]
        index = column_index(names, specs, str(path))
        need = max(index.values(), default=-1) + 1
        for line, cells in rows:
            if opts.skip_blank and not any(c.strip() for c in cells):
                continue
            where = f"{path}:{line}"
            if len(cells) < need:
                raise DataError(f"{where}: {len(cells)} column(s), expected at least {need}")
            prefix = path.stem if len(paths) > 1 else ""
            yield where, prefix, str(line), (lambda s, cells=cells: cells[index[s]])

