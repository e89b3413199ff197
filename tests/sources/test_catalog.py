"""Tests of taiyi.sources.catalog: the 140 paper datasets, extras, schema checks with file-naming errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from taiyi.files import DataError
from taiyi.sources.catalog import Catalog, get_entry, list_entries, load_catalog, load_entry

REQUIRED_NAMES = [
    "bc5cdr", "ncbi_disease", "chemdner", "biored", "jnlpba", "bc2gm", "chemprot", "bc7_litcovid", "hallmarks_of_cancer",
    "pubmed_qa", "med_qa", "MEDQA", "CMeEE-V2", "CMeEE", "CMeIE", "CMeIE-V2", "CHIP-CDEE", "CHIP-CTC", "CHIP-STS",
    "KUAKE-QIC", "KUAKE-QQR", "KUAKE-QTR", "CHIP-CDN", "MedDialog-zh", "Chinese-medical-dialogue-data",
    "BenTsao_llamadata", "BenTsao_livercacer", "paramed", "wmt_biomedical_zh_en",
]


def test_paper_has_140_datasets_38_zh_102_en():
    entries = list_entries(in_paper=True)
    assert len(entries) == 140
    assert Counter(e.table_lang for e in entries) == {"zh": 38, "en": 102}
    assert len(list_entries(lang="zh", in_paper=True)) == 38
    assert len(list_entries(lang="en", in_paper=True)) == 102


def test_names_other_stages_depend_on():
    cat = load_catalog()
    for name in REQUIRED_NAMES:
        assert name in cat, name
    assert get_entry("CMeEE-V2").path == "CBLUE/CMeEE-V2"
    assert get_entry("MEDQA").path == "MedQA-MCMLE"
    assert get_entry("bc5cdr").splits == {"train": 500, "dev": 500, "test": 500}
    extras = {e.name for e in list_entries(in_paper=False)}
    assert {"bc2gm", "chemprot", "CMeEE", "CMeIE", "wmt_biomedical_zh_en"} <= extras


def test_duplicate_imcs_row_is_disambiguated():
    a, b = get_entry("IMCS-V2-SR"), get_entry("IMCS-V2-SR-TP")
    assert a.paper_tasks == ["NER"] and b.paper_tasks == ["TP-ss"]
    assert "IMCS-V2-SR" in b.description and b.splits == {"train": 100000, "dev": 1000, "test": 3000}


def test_sizes_parsed_from_raw_text():
    e = get_entry("MedDialog-zh")
    assert e.splits == {"train": 2725989, "dev": 340748, "test": 340754}
    assert get_entry("sciq").splits["train"] == 11679  # the source's "1,1679" typo kept in splits_raw
    assert get_entry("sciq").splits_raw.startswith("Train:1,1679")


def test_filters():
    ner = list_entries(task="ner")
    assert ner and all("ner" in e.tasks for e in ner)
    sup = list_entries(supported=True, in_paper=None)
    assert {"bc5cdr", "bc2gm"} <= {e.name for e in sup}
    assert all(e.status == "supported" for e in sup)


def test_unknown_name_gives_hint():
    with pytest.raises(KeyError, match="BC5CDR.*did you mean 'bc5cdr'"):
        get_entry("BC5CDR")


def _write(tmp_path: Path, data: dict, name: str = "toy") -> Path:
    f = tmp_path / f"{name}.yaml"
    f.write_text(yaml.safe_dump(data))
    return f


def test_bad_entry_names_file(tmp_path):
    data = dict(get_entry("bc5cdr").data, name="toy", lang="fr")
    f = _write(tmp_path, data)
    with pytest.raises(DataError, match=r"toy\.yaml: lang 'fr'"):
        load_entry(f)
    data = dict(get_entry("bc5cdr").data, name="toy")
    del data["reader"]
    with pytest.raises(DataError, match=r"toy\.yaml: missing field 'reader'"):
        load_entry(_write(tmp_path, data))
    data = dict(get_entry("bc5cdr").data, name="other")
    with pytest.raises(DataError, match="differs from the file name"):
        load_entry(_write(tmp_path, data))
    f.write_text("name: [unclosed\n")
    with pytest.raises(DataError, match=r"toy\.yaml: malformed YAML"):
        load_entry(f)


def test_later_folder_overrides_and_broken_entry_is_set_aside(tmp_path):
    """A user folder replaces a packaged entry of the same name; a broken file is one line and others still load."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _write(a, dict(get_entry("bc5cdr").data, name="toy"))
    _write(b, dict(get_entry("bc5cdr").data, name="toy", path="MyToy"))
    _write(a, dict(get_entry("bc5cdr").data, name="bad", lang="fr"), name="bad")
    cat = Catalog.from_dirs(a, b)
    assert cat.get("toy").path == "MyToy" and cat.overrides == {"toy": a / "toy.yaml"}
    assert "bad" not in cat and len(cat.problems()) == 1 and "\n" not in cat.problems()[0]
    assert cat.problems()[0].startswith(f"{a / 'bad.yaml'}: lang 'fr' not allowed; expected 'zh', 'en' or 'zh-en'")
    with pytest.raises(DataError, match="catalog entry 'bad' is broken: .*bad.yaml: lang 'fr'"):
        cat.get("bad")
    with pytest.raises(DataError, match="bad.yaml"):
        Catalog.from_dirs(a, strict=True)
    with pytest.raises(DataError, match="catalog folder .*nope not found"):
        Catalog.from_dirs(tmp_path / "nope")


def test_packaged_catalog_has_no_broken_entry():
    assert load_catalog().problems() == []


@pytest.mark.parametrize("change, expected", [
    ({"splits": {"train": "500"}}, r"field 'splits.train': Input should be a valid integer \(got '500'\)"),
    ({"splits": {"train": -1}}, r"field 'splits': split sizes must be non-negative"),
    ({"in_paper": "yes"}, r"field 'in_paper': Input should be a valid boolean"),
    ({"colour": "red"}, r"unknown field 'colour'; allowed: name, lang, .*count_notes"),
    ({"tasks": ["nerr"]}, r"field 'tasks': unknown task\(s\) \['nerr'\]; allowed: \['ner'"),
    ({"schema": "graph"}, r"schema 'graph' not allowed; expected 'kb', 'qa'"),
    ({"reader": {"name": "pubtatorr", "options": {}}}, r"reader.name 'pubtatorr' is not a registered reader; known: .*pubtator"),
    ({"reader": {"name": "pubtator", "options": {"file": {"train": "x"}}}},
     r"reader.options.file: unknown option of reader 'pubtator' \(did you mean 'files'\?\); accepted: files, id_separators"),
    ({"reader": {"name": "pubtator", "options": {}}}, r"reader.options: reader 'pubtator' needs option\(s\) files"),
    ({"reader": {"name": "pubtator", "opts": {}}}, r"unknown field 'reader.opts'; allowed: name, options"),
    ({"reader": {"name": "delimited", "options": {"file": "x.tsv"}}},  # a reader with a pydantic options model
     r"reader.options.file: unknown option of reader 'delimited' \(did you mean 'files'\?\); accepted: .*files"),
])
def test_broken_entry_is_one_line_naming_file_and_field(tmp_path, change, expected):
    f = _write(tmp_path, dict(get_entry("bc5cdr").data, name="toy", **change))
    with pytest.raises(DataError, match=r"toy\.yaml: " + expected) as exc:
        load_entry(f)
    assert "\n" not in str(exc.value)


def test_user_catalogs_from_env_and_cli(tmp_path, monkeypatch):
    from taiyi.sources import catalog

    env_dir, cli_dir = tmp_path / "env", tmp_path / "cli"
    env_dir.mkdir(), cli_dir.mkdir()
    _write(env_dir, dict(get_entry("bc5cdr").data, name="mine", path="from_env"), name="mine")
    _write(cli_dir, dict(get_entry("bc5cdr").data, name="mine", path="from_cli"), name="mine")
    _write(cli_dir, dict(get_entry("bc5cdr").data, path="MyBC5CDR"), name="bc5cdr")
    monkeypatch.setenv("TAIYI_CATALOG", str(env_dir))
    assert catalog.catalog_dirs()[0] == catalog.CATALOG_DIR
    assert get_entry("mine").path == "from_env" and get_entry("bc5cdr").path == "BC5CDR"
    monkeypatch.setattr(catalog, "_USER_DIRS", ())
    catalog.use_catalogs([cli_dir])
    try:
        assert get_entry("mine").path == "from_cli" and get_entry("bc5cdr").path == "MyBC5CDR"
        assert len(load_catalog()) == len(catalog.Catalog.from_dirs(catalog.CATALOG_DIR)) + 1
    finally:
        catalog.use_catalogs([])
    monkeypatch.delenv("TAIYI_CATALOG")
    assert "mine" not in load_catalog()


def test_the_docs_user_catalog_entry_loads(tmp_path, monkeypatch):
    """docs/extending.md's example entry, saved in a user catalog folder, loads as written."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "extending.md").read_text(encoding="utf-8")
    block = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)[0]
    data = yaml.safe_load(block)
    (tmp_path / f"{data['name']}.yaml").write_text(block, encoding="utf-8")
    monkeypatch.setenv("TAIYI_CATALOG", str(tmp_path))
    cat = load_catalog()
    assert cat.problems() == [] and cat.get("my_ner_corpus").count_notes == data["count_notes"]


USER_READER = '''
from taiyi.corpus.schema import new_record
from taiyi.sources.registry import register_reader


@register_reader("user_one_per_line")
def read_one_per_line(root, *, files, dataset="", lang="en"):
    for split, rel in files.items():
        for i, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines()):
            yield new_record("text", id=f"{split}{i}", document_id=f"{split}{i}", dataset=dataset, split=split,
                             lang=lang, text=line, labels=[])
'''


def test_user_reader_and_user_catalog_convert_without_touching_the_package(tmp_path, monkeypatch):
    from taiyi.sources.convert import read_dataset

    (tmp_path / "my_reader.py").write_text(USER_READER, encoding="utf-8")
    (tmp_path / "cat").mkdir()
    entry = {"name": "my_lines", "lang": "en", "paper_tasks": ["TC"], "tasks": ["cls"], "schema": "text",
             "splits": {"train": 2}, "path": "my_lines", "status": "supported", "in_paper": False,
             "reader": {"name": "user_one_per_line", "options": {"files": {"train": "train.txt"}}}}
    _write(tmp_path / "cat", entry, name="my_lines")
    (tmp_path / "data" / "my_lines").mkdir(parents=True)
    (tmp_path / "data" / "my_lines" / "train.txt").write_text("Aspirin.\nInsulin.\n", encoding="utf-8")
    monkeypatch.setenv("TAIYI_READERS", str(tmp_path / "my_reader.py"))
    monkeypatch.setenv("TAIYI_CATALOG", str(tmp_path / "cat"))
    assert load_catalog().problems() == []
    recs = read_dataset("my_lines", tmp_path / "data")
    assert [r["text"] for r in recs["train"]] == ["Aspirin.", "Insulin."]
    _write(tmp_path / "cat", dict(entry, reader={"name": "user_one_per_line", "options": {"file": "x"}}),
           name="my_lines")
    problems = Catalog.from_dirs(tmp_path / "cat").problems()
    assert len(problems) == 1 and "reader.options.file: unknown option of reader 'user_one_per_line' " \
                                  "(did you mean 'files'?); accepted: files, dataset, lang" in problems[0]
