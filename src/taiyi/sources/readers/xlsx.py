"""Excel workbooks (.xlsx) -> pairs / text / qa / t2t records, one per sheet row, mapped in YAML.

Why: MedicationQA and MeQSum are released as one Excel sheet each. An .xlsx file is a zip of XML parts (the
workbook's sheet list, a shared-string table, one XML part per sheet); the cell values are read from those
parts with the standard library, since openpyxl is not in the environment. Formulas are read as their cached
values and styles are ignored, which is all a dataset needs. Options as ``delimited`` (``header``,
``columns``), plus ``sheet`` (default: the first). Errors name the workbook, the sheet and the row.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree as ET

from pydantic import model_validator

from taiyi.files import DataError
from taiyi.sources.fieldmap import MappedOptions, options_model, parse_options, rows_to_records
from taiyi.sources.readers.delimited import all_specs, column_index
from taiyi.sources.registry import register_reader

READER = "xlsx"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class XlsxOptions(MappedOptions):
    sheet: str | None = None  # sheet name; default: the first sheet
    header: bool = True
    columns: list[str] | None = None
    skip_blank: bool = True

    @model_validator(mode="after")
    def _columns_only_without_header(self) -> "XlsxOptions":
        if self.header and self.columns:
            raise ValueError("columns names the columns of a headerless sheet; with header: true the first row does")
        return self


def _col(ref: str) -> int:
    """0-based column of a cell reference (``AB12`` -> 27)."""
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def _text(el: ET.Element | None) -> str:
    """The text of a string item (plain or rich-text runs); phonetic runs (rPh) are not text."""
    if el is None:
        return ""
    phonetic = {id(t) for t in el.findall(".//m:rPh/m:t", NS)}
    return "".join(t.text or "" for t in el.iter(f"{{{NS['m']}}}t") if id(t) not in phonetic)


def sheet_names(path: Path) -> dict[str, str]:
    """Sheet name -> its XML part inside the zip, in workbook order."""
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.findall("pr:Relationship", NS)}
    out = {}
    for s in book.findall("m:sheets/m:sheet", NS):
        t = target[s.get(REL_ID)]
        out[s.get("name")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    return out


def read_sheet(path: Path, sheet: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell values as text) of one sheet; missing cells are empty strings."""
    try:
        names = sheet_names(path)
        if sheet is not None and sheet not in names:
            raise DataError(f"{path}: no sheet {sheet!r}; sheets: {list(names)}")
        part = names[sheet] if sheet is not None else next(iter(names.values()))
        with zipfile.ZipFile(path) as z:
            shared = []
            if "xl/sharedStrings.xml" in z.namelist():
                shared = [_text(si) for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)]
            root = ET.fromstring(z.read(part))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, StopIteration) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    for row in root.iterfind("m:sheetData/m:row", NS):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", NS):
            kind, v = c.get("t", "n"), c.find("m:v", NS)
            if kind == "s":
                value = shared[int(v.text)] if v is not None else ""
            elif kind == "inlineStr":
                value = _text(c.find("m:is", NS))
            elif kind == "b":
                value = "TRUE" if v is not None and v.text == "1" else "FALSE"
            else:
                value = v.text or "" if v is not None else ""
            cells[_col(c.get("r")) if c.get("r") else len(cells)] = value
        yield int(row.get("r")), [cells.get(i, "") for i in range(max(cells, default=-1) + 1)]


@register_reader(READER)
@options_model(XlsxOptions)
def read_xlsx(root: Path, **options) -> Iterator[dict]:
    """One record per sheet row of each split's workbook(s) (see ``XlsxOptions`` and ``fieldmap.MappedOptions``)."""
    opts = parse_options(XlsxOptions, READER, options)
    for split, paths in opts.split_files(root):
        yield from rows_to_records(opts, split, _rows(paths, opts))


def _rows(paths: list[Path], opts: XlsxOptions):
    specs = all_specs(opts)
    for path in paths:
        rows = read_sheet(path, opts.sheet)
        names = list(opts.columns or [])
        if opts.header:
            first = next(rows, None)
            if first is None:
                raise DataError(f"{path}: empty sheet (expected a header row)")
            names = first[1]
        where_file = f"{path}[{opts.sheet}]" if opts.sheet else str(path)
        index = column_index(names, specs, where_file)
        for rno, cells in rows:
            if opts.skip_blank and not any(c.strip() for c in cells):
                continue
            cells = cells + [""] * (max(index.values(), default=-1) + 1 - len(cells))
            prefix = path.stem if len(paths) > 1 else ""
            yield f"{where_file} row {rno}", prefix, str(rno), (lambda s, cells=cells: cells[index[s]])
