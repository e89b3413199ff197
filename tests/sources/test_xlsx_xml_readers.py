"""The xlsx and xml_records readers on small hand-made files: cell kinds, sheets, XML paths and their errors."""

from __future__ import annotations

import zipfile

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.readers.xlsx import read_sheet
from taiyi.sources.registry import get_reader, option_problems

M = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def _xlsx(path, sheets: dict[str, str], shared: list[str]):
    """A minimal workbook: sheet name -> <sheetData> body; shared strings (one rich-text item with a phonetic run)."""
    with zipfile.ZipFile(path, "w") as z:
        book = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(sheets, 1))
        z.writestr("xl/workbook.xml", f"<workbook {M} {R}><sheets>{book}</sheets></workbook>")
        rels = "".join(f'<Relationship Id="rId{i}" Target="worksheets/sheet{i}.xml" Type="x"/>'
                       for i in range(1, len(sheets) + 1))
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
                   "</Relationships>")
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)
        items += "<si><r><t>Rich </t></r><r><t>text</t></r><rPh><t>PHONETIC</t></rPh></si>"
        z.writestr("xl/sharedStrings.xml", f"<sst {M}>{items}</sst>")
        for i, body in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", f"<worksheet {M}><sheetData>{body}</sheetData></worksheet>")


SHEET = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
         '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="C2"><v>4.5</v></c></row>'
         '<row r="3"></row>'
         '<row r="4"><c r="A4" t="inlineStr"><is><t>Inline?</t></is></c><c r="B4" t="s"><v>4</v></c>'
         '<c r="C4" t="b"><v>1</v></c></row>')


def test_read_sheet_cell_kinds_and_gaps(tmp_path):
    _xlsx(tmp_path / "w.xlsx", {"Other": "", "QS": SHEET}, ["Question", "Answer", "Score", "What is X?"])
    rows = list(read_sheet(tmp_path / "w.xlsx", "QS"))
    assert rows == [(1, ["Question", "Answer", "Score"]), (2, ["What is X?", "", "4.5"]), (3, []),
                    (4, ["Inline?", "Rich text", "TRUE"])]
    assert list(read_sheet(tmp_path / "w.xlsx")) == []  # default: the first sheet
    with pytest.raises(DataError, match=r"w\.xlsx: no sheet 'Q'; sheets: \['Other', 'QS'\]"):
        list(read_sheet(tmp_path / "w.xlsx", "Q"))
    (tmp_path / "bad.xlsx").write_text("not a zip")
    with pytest.raises(DataError, match=r"bad\.xlsx: not a readable \.xlsx workbook"):
        list(read_sheet(tmp_path / "bad.xlsx"))


def test_xlsx_reader_maps_header_columns(tmp_path):
    _xlsx(tmp_path / "w.xlsx", {"QS": SHEET}, ["Question", "Answer", "Score", "What is X?"])
    opts = {"files": {"train": "w.xlsx"}, "sheet": "QS", "schema": "qa", "constants": {"type": "free"},
            "fields": {"question": "Question", "answer": ["Answer", "Score"]}}
    recs = list(get_reader("xlsx")(tmp_path, **opts))
    assert [(r["id"], r["question"], r["answer"]) for r in recs] == [
        ("train-2", "What is X?", ["4.5"]), ("train-4", "Inline?", ["Rich text", "TRUE"])]
    assert validate_records(recs) == []
    with pytest.raises(DataError, match=r"w\.xlsx\[QS\]: no column 'Answr'; columns: \['Question', 'Answer', 'Score'\]"):
        list(get_reader("xlsx")(tmp_path, **{**opts, "fields": {"question": "Question", "answer": "Answr"}}))
    assert option_problems("xlsx", {**opts, "sheets": "QS"})[0].startswith(
        "reader.options.sheets: unknown option of reader 'xlsx' (did you mean 'sheet'?)")


XML = """<?xml version="1.0" encoding="UTF-8"?>
<Set>
  <Question QID="7"><QuestionText>What is
      gout?</QuestionText>
    <AnswerList>
      <Answer AID="7_1" ReferenceScore="1"><AnswerText>Wrong.</AnswerText></Answer>
      <Answer AID="7_2" ReferenceScore="3"><AnswerText>Arthritis (<i>uric</i> acid).</AnswerText></Answer>
      <Answer AID="7_3" ReferenceScore="4"><AnswerText>A form of arthritis.</AnswerText></Answer>
    </AnswerList>
  </Question>
  <Question QID="8"><QuestionText>Why?</QuestionText>
    <AnswerList><Answer AID="8_1" ReferenceScore="2"><AnswerText>Related.</AnswerText></Answer></AnswerList>
  </Question>
</Set>
"""
QA = {"files": {"test": "q.xml"}, "record": "Question", "schema": "qa", "id": "@QID", "constants": {"type": "free"},
      "fields": {"question": "QuestionText", "answer": ["AnswerList/Answer[@ReferenceScore='4']/AnswerText",
                                                         "AnswerList/Answer[@ReferenceScore='3']/AnswerText"]},
      "collapse_whitespace": True}


def test_xml_records_paths_predicates_attributes(tmp_path):
    (tmp_path / "q.xml").write_text(XML, encoding="utf-8")
    recs = list(get_reader("xml_records")(tmp_path, **QA, drop_empty=["answer"]))
    assert [(r["id"], r["question"], r["answer"]) for r in recs] == [
        ("test-7", "What is gout?", ["A form of arthritis.", "Arthritis (uric acid)."])]
    ids = list(get_reader("xml_records")(tmp_path, files={"dev": "q.xml"}, record=".//Answer", schema="pairs",
                                         id="@AID", fields={"text_1": "@AID", "text_2": "AnswerText",
                                                            "label": "@ReferenceScore"}, numeric=["label"]))
    assert [(r["id"], r["label"]) for r in ids] == [("dev-7_1", "1"), ("dev-7_2", "3"), ("dev-7_3", "4"),
                                                     ("dev-8_1", "2")]


def test_xml_records_errors(tmp_path):
    (tmp_path / "q.xml").write_text(XML, encoding="utf-8")
    with pytest.raises(DataError, match=r"q\.xml: no 'Questions' elements under <Set>"):
        list(get_reader("xml_records")(tmp_path, **{**QA, "record": "Questions"}))
    (tmp_path / "q.xml").write_text(XML.replace("</Set>", ""), encoding="utf-8")
    with pytest.raises(DataError, match=r"q\.xml:\d+: malformed XML"):
        list(get_reader("xml_records")(tmp_path, **QA))
    problems = option_problems("xml_records", {k: v for k, v in QA.items() if k != "record"})
    assert len(problems) == 1 and problems[0].startswith("reader.options.record: Field required")
