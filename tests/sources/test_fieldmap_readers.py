"""The configurable readers (delimited, json_records) on small files: field mapping, ids, label maps, numeric
checks, and option errors that name the accepted options."""

from __future__ import annotations

import json
import re

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.fieldmap import accepted_options
from taiyi.sources.registry import get_reader, option_problems


def _csv(tmp_path, name="pairs.csv", text="category,q1,q2,label\nflu,Is flu bad?,Is influenza bad?,1\nflu,Flu?,Cold?,0\n"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


BASE = {"files": {"train": "pairs.csv"}, "schema": "pairs", "fields": {"text_1": "q1", "text_2": "q2", "label": "label"}}


def test_delimited_maps_columns_and_lines(tmp_path):
    recs = list(get_reader("delimited")(_csv(tmp_path), **BASE))
    assert validate_records(recs) == []
    assert [(r["id"], r["text_1"], r["text_2"], r["label"]) for r in recs] == [
        ("train-2", "Is flu bad?", "Is influenza bad?", "1"), ("train-3", "Flu?", "Cold?", "0")]
    mapped = list(get_reader("delimited")(tmp_path, **BASE, label_map={"0": "different", "1": "same"}))
    assert [r["label"] for r in mapped] == ["same", "different"]


def test_delimited_headerless_tsv_by_name_and_index(tmp_path):
    (tmp_path / "sim.txt").write_text('heart\tmyocardium\t3.15\n\n"renal"\tkidney\t4\n', encoding="utf-8")
    opts = {"files": {"train": "sim.txt"}, "schema": "pairs", "delimiter": "\t", "quoting": "none", "header": False,
            "columns": ["a", "b", "score"], "fields": {"text_1": "a", "text_2": 1, "label": "score"}, "numeric": ["label"]}
    recs = list(get_reader("delimited")(tmp_path, **opts))
    assert [(r["id"], r["text_1"], r["text_2"], r["label"]) for r in recs] == [
        ("train-1", "heart", "myocardium", "3.15"), ("train-3", '"renal"', "kidney", "4")]  # blank line 2 skipped


def test_delimited_text_schema_several_files_and_joined_columns(tmp_path):
    (tmp_path / "a.tsv").write_text("id\ttitle\tbody\tlab\n7\tT1\tB1\tx\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("id\ttitle\tbody\tlab\n8\tT2\t\ty\n", encoding="utf-8")
    opts = {"files": {"train": ["a.tsv", "b.tsv"]}, "schema": "text", "delimiter": "\t", "join": " | ",
            "fields": {"text": ["title", "body"], "labels": "lab"}, "document_id": "id"}
    recs = list(get_reader("delimited")(tmp_path, **opts))
    assert [(r["id"], r["document_id"], r["text"], r["labels"]) for r in recs] == [
        ("train-a-2", "7", "T1 | B1", ["x"]), ("train-b-2", "8", "T2", ["y"])]


@pytest.mark.parametrize("extra, message", [
    ({"numeric": ["label"]}, r"pairs\.csv:2: label 'yes' is not a \(finite\) number"),
    ({"numeric": ["text_1"]}, r"pairs\.csv:2: text_1 'nan' is not a \(finite\) number"),
    ({"label_map": {"no": "0"}}, r"pairs\.csv:2: label 'yes' not in label_map \['no'\]"),
    ({"id": "category"}, r"pairs\.csv:3: id 'flu' repeats .*pairs\.csv:2"),
    ({"fields": {"text_1": "q1", "text_2": "question_2"}}, r"pairs\.csv: no column 'question_2'; columns: \["),
    ({"fields": {"text_1": "q1", "text_2": 9}}, r"pairs\.csv:2: 4 column\(s\), expected at least 10"),
])
def test_delimited_data_errors_name_file_and_line(tmp_path, extra, message):
    _csv(tmp_path, text="category,q1,q2,label\nflu,nan,B?,yes\nflu,C?,D?,no\n")
    with pytest.raises(DataError, match=message):
        list(get_reader("delimited")(tmp_path, **{**BASE, **extra}))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="pairs.csv not found"):
        list(get_reader("delimited")(tmp_path, **BASE))


def test_json_records_list_keyed_object_and_jsonl(tmp_path):
    rows = [{"cc": "头晕", "hist": {"text": "十天"}, "syn": "气虚证", "tags": ["a", "b"]}]
    (tmp_path / "l.json").write_text(json.dumps({"data": rows}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "k.json").write_text(json.dumps({"q9": {"q": "Why?", "a": ["Because.", "So."]}}), encoding="utf-8")
    (tmp_path / "r.jsonl").write_text('{"q": "Q1?", "a": "A1"}\n\n{"q": "Q2?", "a": "A2"}', encoding="utf-8")
    text = list(get_reader("json_records")(tmp_path, files={"train": "l.json"}, records="data", schema="text",
                                           fields={"text": ["cc", "hist.text"], "labels": ["syn", "tags"]}, join="。"))
    assert (text[0]["id"], text[0]["text"], text[0]["labels"]) == ("train-0", "头晕。十天", ["气虚证", "a", "b"])
    qa = list(get_reader("json_records")(tmp_path, files={"test": "k.json"}, schema="qa", id="@key",
                                         fields={"question": "q", "answer": "a"}, constants={"type": "free"}))
    assert (qa[0]["id"], qa[0]["answer"], qa[0]["type"]) == ("test-q9", ["Because.", "So."], "free")
    lines = list(get_reader("json_records")(tmp_path, files={"dev": "r.jsonl"}, schema="t2t",
                                            fields={"text_1": "q", "text_2": "a"},
                                            constants={"text_1_name": "text", "text_2_name": "summary"}))
    assert [(r["id"], r["text_2"], r["text_2_name"]) for r in lines] == [("dev-1", "A1", "summary"),
                                                                         ("dev-3", "A2", "summary")]
    assert validate_records(text + qa + lines) == []


def test_json_lines_read_as_json_hint_jsonl(tmp_path):
    (tmp_path / "r.json").write_text('{"q": "Q1?"}\n{"q": "Q2?"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"r\.json:2: malformed JSON \(Extra data\); one object per line\? set jsonl"):
        list(get_reader("json_records")(tmp_path, files={"train": "r.json"}, schema="text", fields={"text": "q"}))
    recs = list(get_reader("json_records")(tmp_path, files={"train": "r.json"}, jsonl=True, schema="text",
                                           fields={"text": "q"}))
    assert [r["text"] for r in recs] == ["Q1?", "Q2?"]


OPTION_ERRORS = [
    ("delimited", {**BASE, "file": "x.csv"},
     r"reader\.options\.file: unknown option of reader 'delimited' \(did you mean 'files'\?\); accepted: .*\bfiles\b"),
    ("delimited", {**BASE, "delimter": "\t"}, r"options\.delimter: unknown .*did you mean 'delimiter'"),
    ("delimited", {**BASE, "quoting": "all"}, r"options\.quoting: Input should be 'minimal' or 'none' \(got 'all'\)"),
    ("delimited", {**BASE, "schema": "kb"}, r"options\.schema: Input should be 'pairs', 'text', 'qa' or 't2t'"),
    ("delimited", {**BASE, "fields": {"text_1": "q1", "txt_2": "q2"}}, r"\['txt_2'\] are not pairs fields; accepted"),
    ("delimited", {**BASE, "fields": {"text_1": "q1"}}, r"reader\.options: schema pairs needs fields \['text_2'\]"),
    ("delimited", {**BASE, "numeric": ["score"]}, r"numeric names \['score'\], which are not in fields"),
    ("delimited", {**BASE, "header": True, "columns": ["a"]}, r"columns names the columns of a headerless file"),
    ("delimited", {"schema": "pairs", "fields": BASE["fields"]}, r"options\.files: Field required"),
    ("json_records", {**BASE, "record": "data"}, r"options\.record: unknown .*did you mean 'records'"),
    ("json_records", {**BASE, "jsonl": "maybe"}, r"options\.jsonl: Input should be a valid boolean"),
    ("xlsx", {**BASE, "sheets": "QS"}, r"options\.sheets: unknown .*did you mean 'sheet'"),
    ("xlsx", {**BASE, "constants": {"type": "free"}}, r"\['type'\] are not pairs fields"),
    ("xml_records", BASE, r"options\.record: Field required"),
    ("xml_records", {**BASE, "record": "pair", "collapse_space": True}, r"did you mean 'collapse_whitespace'"),
    ("ppi_xml", {"files": {"train": "x.xml"}, "units": "sentence"}, r"options\.units: unknown .*did you mean 'unit'"),
    ("ppi_xml", {"files": {"train": "x.xml"}, "unit": "abstract"}, r"unit: Input should be 'document' or 'sentence'"),
    ("token_votes", {"texts": "s.json"}, r"options\.annotations: Field required"),
    ("token_votes", {"texts": "s.json", "annotations": {}, "min_votes": 0}, r"min_votes: Input should be greater"),
    ("diakg", {"file": {"train": "d.json"}}, r"options\.file: unknown .*did you mean 'files'"),
]


@pytest.mark.parametrize("reader, options, message", OPTION_ERRORS, ids=[f"{r}-{i}" for i, (r, _, _) in
                                                                          enumerate(OPTION_ERRORS)])
def test_option_errors_are_one_line_and_list_accepted(tmp_path, reader, options, message):
    _csv(tmp_path)
    with pytest.raises(DataError, match=message) as err:
        list(get_reader(reader)(tmp_path, **options))
    assert str(err.value).startswith(f"reader {reader!r}: reader.options")
    assert any(re.search(message, p) for p in option_problems(reader, options))  # caught when the catalog loads


@pytest.mark.parametrize("reader", ["delimited", "json_records", "xlsx", "xml_records"])
def test_readers_expose_their_options_model(reader):
    model = get_reader(reader).options_model
    assert {"files", "schema", "fields", "id", "numeric", "label_map", "drop_empty"} <= set(accepted_options(model))


def test_the_docs_field_mapping_example_is_the_biosses_entry():
    """docs/extending.md's delimited example is valid and is, option for option, the packaged BIOSSES entry."""
    from pathlib import Path

    import yaml

    from taiyi.sources.catalog import get_entry

    doc = (Path(__file__).resolve().parents[2] / "docs" / "extending.md").read_text(encoding="utf-8")
    section = doc[doc.index("### A table, a JSON list or repeated XML elements"):]
    block = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[0])["reader"]
    assert option_problems(block["name"], block["options"]) == []
    assert block == {"name": get_entry("biosses").reader_name, "options": get_entry("biosses").reader_options}
