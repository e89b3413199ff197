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


def test_duplicate_names_rejected(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    data = dict(get_entry("bc5cdr").data, name="toy")
    _write(a, data), _write(b, data)
    with pytest.raises(DataError, match="already defined"):
        Catalog.from_dirs(a, b)
