"""Tests of taiyi.sources.convert on the real ../shared/datasets (through the session fixture ``shared_corpus``)."""

from __future__ import annotations

import orjson
import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError, read_json, read_jsonl
from taiyi.sources import convert
from taiyi.sources.catalog import Catalog, get_entry


def split_counts(corpus, name):
    """{split: (records, entities, relations)} of a converted dataset."""
    out = {}
    for f in sorted((corpus / name).glob("*.jsonl")):
        recs = list(read_jsonl(f))
        out[f.stem] = (len(recs), sum(len(r.get("entities", [])) for r in recs),
                       sum(len(r.get("relations", [])) for r in recs))
    return out


def test_every_converted_record_validates(shared_corpus):
    n = 0
    for f in sorted(shared_corpus.glob("*/*.jsonl")):
        recs = list(read_jsonl(f))
        assert recs, f
        errs = validate_records(recs, source=str(f))
        assert not errs, errs[:5]
        assert {r["dataset"] for r in recs} == {f.parent.name}
        assert {r["split"] for r in recs} == {f.stem}
        n += len(recs)
    assert n > 100_000


def test_manifest_and_meta(shared_corpus, shared_datasets):
    m = read_json(shared_corpus / "manifest.json")
    assert m["stage"] == "convert" and m["taiyi_version"]
    assert m["counts"]["bc5cdr"] == {"train": 500, "dev": 500, "test": 500}
    by_path = {i["path"]: i for i in m["inputs"]}
    cdr = str(shared_datasets / "BC5CDR/pubtator/CDR_TestSet.PubTator.txt")
    assert len(by_path[cdr]["sha256"]) == 64 and by_path[cdr]["dataset"] == "bc5cdr"
    assert "chemdner" in m["skipped"] and "not found" in m["skipped"]["chemdner"]
    meta = read_json(shared_corpus / "bc5cdr" / "meta.json")
    assert meta["name"] == "bc5cdr" and meta["tasks"] == ["ner", "re", "norm"] and "Chemical" in meta["label_names"]


# counts from each dataset's SOURCE.md: (documents, mentions, relations)
SOURCE_COUNTS = {
    "bc5cdr": {"train": (500, 9385, 1038), "dev": (500, 9591, 1012), "test": (500, 9809, 1066)},
    # train repeats PMID 8528200 verbatim; kept once: 593 -> 592 blocks, 5,145 -> 5,134 mentions (SOURCE.md)
    "ncbi_disease": {"train": (592, 5134, 0), "dev": (100, 787, 0), "test": (100, 960, 0)},
    "biored": {"train": (400, 13351, 4178), "dev": (100, 3533, 1162), "test": (100, 3535, 1163)},
    "jnlpba": {"train": (2000, 51301, 0), "test": (404, 8662, 0)},
    # original release: 15,000 / 5,000 sentences; GENE.eval 18,265 / 6,331 mention lines
    "bc2gm": {"train": (15000, 18265, 0), "test": (5000, 6331, 0)},
    # entities CHEM + GENE-Y + GENE-N; gold-standard relations
    "chemprot": {"train": (1020, 13017 + 8348 + 4387, 4157), "dev": (612, 8004 + 5151 + 2412, 2416),
                 "test": (800, 10810 + 6658 + 3360, 3458)},
    "hallmarks_of_cancer": {"train": (1295, 0, 0), "dev": (186, 0, 0), "test": (371, 0, 0)},
}


@pytest.mark.parametrize("name", sorted(SOURCE_COUNTS))
def test_counts_match_source_md(shared_corpus, name):
    assert split_counts(shared_corpus, name) == SOURCE_COUNTS[name]


def test_entity_types_biored(shared_corpus):
    from collections import Counter

    recs = list(read_jsonl(shared_corpus / "biored" / "train.jsonl"))
    types = Counter(e["type"] for r in recs for e in r["entities"])
    assert types == {"GeneOrGeneProduct": 4430, "DiseaseOrPhenotypicFeature": 3646, "ChemicalEntity": 2853,
                     "OrganismTaxon": 1429, "SequenceVariant": 890, "CellLine": 103}
    rels = Counter(x["type"] for r in recs for x in r["relations"])
    assert rels["Association"] == 2192 and rels["Conversion"] == 3


def test_single_dataset_and_parquet(shared_datasets, tmp_path):
    out = tmp_path / "corpus"
    counts = convert.convert_dataset("ncbi_disease", shared_datasets / "NCBI-disease", out, parquet=True, progress=False)
    assert counts == {"train": 592, "dev": 100, "test": 100}
    from taiyi.corpus.parquet import read_parquet

    back = read_parquet(out / "ncbi_disease" / "test.parquet")
    first = orjson.loads((out / "ncbi_disease" / "test.jsonl").read_bytes().split(b"\n")[0])
    assert back[0]["entities"] == first["entities"] and len(back) == 100
    m = read_json(out / "manifest.json")
    assert m["counts"] == {"ncbi_disease": counts}


def test_read_dataset_absent_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="BC5CDR not found"):
        convert.read_dataset("bc5cdr", tmp_path)
    with pytest.raises(convert.NotSupportedError, match="not yet supported"):
        convert.read_dataset("medal", tmp_path)


def test_failed_conversion_leaves_nothing(tmp_path):
    """A malformed file aborts the run and leaves neither a corpus nor temp folders."""
    data = tmp_path / "data" / "toy"
    data.mkdir(parents=True)
    (data / "t.txt").write_text("1|t|Aspirin.\n1|a|Ulcers.\n1\t0\t7\tAspirin\tChemical\tD001241\n\n"
                                "2|t|Bad.\n2|a|Offsets.\n2\t0\t99\tBad\tChemical\t-\n")
    entry = dict(get_entry("bc5cdr").data, name="toy", path="toy",
                 reader={"name": "pubtator", "options": {"files": {"train": "t.txt"}}})
    cat_dir = tmp_path / "cat"
    cat_dir.mkdir()
    import yaml

    (cat_dir / "toy.yaml").write_text(yaml.safe_dump(entry))
    cat = Catalog.from_dirs(cat_dir)
    out = tmp_path / "corpus"
    with pytest.raises(DataError, match=r"t\.txt:7: mention 'Bad' at \[0,99\]"):
        convert.convert_all(tmp_path / "data", out, progress=False, catalog=cat)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat", "data"]  # no corpus, no temp folder


def test_every_count_difference_is_explained_by_its_entry(shared_corpus):
    """Converted counts equal the catalog's published split sizes, or the entry's count_notes says why."""
    checks = read_json(shared_corpus / "manifest.json")["count_check"]
    unexplained = {name: [r for r in rows if not r["note"]] for name, rows in checks.items()}
    assert {k: v for k, v in unexplained.items() if v} == {}
    assert "bc5cdr" not in checks and checks["hallmarks_of_cancer"][0]["kind"] == "differs"


def test_count_check_reports_each_difference_without_failing(shared_datasets, tmp_path, capsys):
    import yaml

    from taiyi.sources import counts

    entry = dict(get_entry("ncbi_disease").data, name="toy", path="NCBI-disease",
                 splits={"train": 593, "dev": 100, "test": 100, "extra_split": 7},
                 count_notes={"extra_split": "never released"})
    cat_dir = tmp_path / "cat"
    cat_dir.mkdir()
    (cat_dir / "toy.yaml").write_text(yaml.safe_dump(entry))
    cat = Catalog.from_dirs(cat_dir)
    summary = convert.convert_all(shared_datasets, tmp_path / "c", progress=True, catalog=cat)
    assert summary["converted"]["toy"] == {"train": 592, "dev": 100, "test": 100}
    rows = summary["count_check"]["toy"]
    assert sorted((r["split"], r["kind"], r["converted"], r["published"], r["note"]) for r in rows) == [
        ("extra_split", "missing", None, 7, "never released"), ("train", "differs", 592, 593, None)]
    assert read_json(tmp_path / "c" / "manifest.json")["count_check"]["toy"] == rows
    out = capsys.readouterr().out
    assert "count differs toy/train: converted 592, catalog 593 (-1, -0.2%)" in out
    assert "count toy: extra_split not converted, catalog 7 (accepted: never released)" in out
    assert "counts: 0 of 1 dataset(s) match the catalog's split sizes; 1 differ (2 split(s); 0 dataset(s)" in out
    unl = counts.compare(cat.get("toy"), {"train": 593, "dev": 100, "test_unlabelled": 100})
    assert [r["split"] for r in unl] == ["extra_split"]  # test_unlabelled stands for test
