"""CLI tests (typer CliRunner) for `taiyi datasets list/show` and `taiyi convert`."""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.files import read_json

runner = CliRunner()


def test_datasets_list_json_has_the_paper_140():
    res = runner.invoke(app, ["datasets", "list", "--json"])
    assert res.exit_code == 0, res.output
    entries = json.loads(res.output)
    assert len(entries) == 140
    assert Counter(e["paper_table"] for e in entries) == {"zh": 38, "en": 102}
    zh = json.loads(runner.invoke(app, ["datasets", "list", "--json", "--lang", "zh"]).output)
    assert len(zh) == 38 and all(e["lang"] == "zh" for e in zh)


def test_datasets_list_filters_and_table():
    res = runner.invoke(app, ["datasets", "list", "--task", "re", "--supported", "--include-extra", "--json"])
    names = {e["name"] for e in json.loads(res.output)}
    assert {"bc5cdr", "biored", "chemprot"} <= names and "bc2gm" not in names
    res = runner.invoke(app, ["datasets", "list", "--lang", "en", "--supported"])
    assert res.exit_code == 0 and "bc5cdr" in res.output and "supported" in res.output


def test_datasets_show():
    res = runner.invoke(app, ["datasets", "show", "bc5cdr", "--json"])
    assert json.loads(res.output)["path"] == "BC5CDR"
    res = runner.invoke(app, ["datasets", "show", "hallmarks_of_cancer"])
    assert res.exit_code == 0 and "HoC" in res.output
    res = runner.invoke(app, ["datasets", "show", "nope"])
    assert res.exit_code == 2 and "no dataset 'nope'" in res.output


def test_convert_mini_and_single_dataset(tmp_path, shared_datasets):
    out = tmp_path / "corpus"
    res = runner.invoke(app, ["convert", "--mini", "--out", str(out), "--parquet"])
    assert res.exit_code == 0, res.output
    assert (out / "mini_cdr" / "train.parquet").is_file() and "mini_cdr" in res.output
    res = runner.invoke(app, ["convert", "--dataset", "biored", "--input", str(shared_datasets / "BioRED"),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert read_json(out / "manifest.json")["counts"]["biored"] == {"train": 400, "dev": 100, "test": 100}


def test_convert_errors(tmp_path):
    res = runner.invoke(app, ["convert", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "exactly one of" in res.output
    res = runner.invoke(app, ["convert", "--dataset", "bc5cdr", "--input", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert res.exit_code == 1 and "not found" in res.output
    res = runner.invoke(app, ["convert", "--all", "--input-root", str(tmp_path / "missing"), "--out", str(tmp_path / "c")])
    assert res.exit_code == 1 and "input root" in res.output


def test_user_catalog_option_and_broken_entries(tmp_path, shared_datasets):
    """--catalog adds entries without touching the package; a broken one is one warning line, others still work."""
    import yaml

    from taiyi.sources.catalog import get_entry, use_catalogs

    cat = tmp_path / "cat"
    cat.mkdir()
    mine = dict(get_entry("ncbi_disease").data, name="my_ncbi", in_paper=False)
    (cat / "my_ncbi.yaml").write_text(yaml.safe_dump(mine))
    bad = dict(mine, name="my_typo", reader={"name": "pubtator", "options": {"file": {"test": "x"}}})
    (cat / "my_typo.yaml").write_text(yaml.safe_dump(bad))
    try:
        res = runner.invoke(app, ["datasets", "list", "--include-extra", "--supported", "--catalog", str(cat)])
        assert res.exit_code == 0, res.output
        warnings = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
        assert len(warnings) == 1 and "my_typo.yaml: reader.options.file: unknown option" in warnings[0]
        assert "did you mean 'files'?" in warnings[0] and "my_ncbi" in res.output
        import re

        assert re.search(r"│ datasets\s*│\s*(\d+) / \1\s*│\s*(\d+) / \2\s*│", res.output)  # supported / listed
        res = runner.invoke(app, ["datasets", "show", "my_typo", "--catalog", str(cat)])
        assert res.exit_code == 1 and "catalog entry 'my_typo' is broken" in str(res.exception)  # main(): one line
        res = runner.invoke(app, ["convert", "--dataset", "my_ncbi", "--input", str(shared_datasets / "NCBI-disease"),
                                  "--out", str(tmp_path / "c"), "--catalog", str(cat)])
        assert res.exit_code == 0, res.output
        assert read_json(tmp_path / "c" / "manifest.json")["counts"]["my_ncbi"]["dev"] == 100
        res = runner.invoke(app, ["datasets", "show", "my_ncbi"])  # without the option: not there
        assert res.exit_code == 2
    finally:
        use_catalogs([])
