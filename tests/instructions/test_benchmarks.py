"""benchmarks.yaml is schema-checked, matches the paper's table, and gives stable evaluation items."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from . import fake_codec
from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError, read_jsonl
from taiyi.instructions import benchmarks as bm

PAPER_CSV = Path(__file__).resolve().parents[3] / "shared" / "reference" / "paper_results.csv"


def _kb(rid: str, ents: list[tuple[str, str]], dataset="ncbi_disease") -> dict:
    text = " ".join(m for _, m in ents) + " end."
    entities, pos = [], 0
    for i, (t, m) in enumerate(ents):
        entities.append({"id": f"e{i}", "type": t, "text": [m], "offsets": [[pos, pos + len(m)]], "normalized": []})
        pos += len(m) + 1
    return new_record("kb", id=rid, document_id=f"pmid{rid}", dataset=dataset, split="test", lang="en",
                      passages=make_passages([("abstract", text)]), entities=entities)


def test_all_fourteen_load_and_match_the_paper_rows():
    b = bm.load_benchmarks()
    assert len(b) == 17  # the paper's 14 plus normalisation, BioNLP event and similarity benchmarks of our own
    assert {x.name for x in b.values() if x.paper_key is None} == {"CHIP-CDN-dev", "BioNLP-GE11-dev", "BIOSSES"}
    assert list(b)[:2] == ["BC5CDR-Chem", "BC5CDR-Dise"]
    assert b["BioRED"].zero_shot and sum(x.zero_shot for x in b.values()) == 1
    assert b["CHEMDNER"].type_map["TRIVIAL"] == "Chemical"
    assert b["NCBI-disease"].type_map["SpecificDisease"] == "Disease"
    assert len(b["CMeEE-dev"].types) == 9 and b["CMeEE-dev"].split == "dev"
    assert b["HoC"].multi_label and not b["KUAKE-QIC-dev"].multi_label
    assert bm.zero_shot_datasets() >= {"biored"}
    if PAPER_CSV.is_file():
        rows = {(r["task"], r["dataset"]) for r in csv.DictReader(PAPER_CSV.open())}
        for x in b.values():
            assert x.paper_key is None or x.paper_key in rows, x.name


@pytest.mark.parametrize(
    "patch, msg",
    [
        ({"task": "nope"}, "not a registered task"),
        ({"lang": "fr"}, "lang"),
        ({"paper_key": "ner"}, "paper_key"),
        ({"types": ["A"], "type_map": {"x": "B"}}, "type_map targets"),
        ({"colour": 1}, "colour: Extra inputs are not permitted"),
    ],
)
def test_schema_errors_name_the_entry(patch, msg):
    entry = {"name": "X", "dataset": "d", "split": "test", "task": "ner", "metric": "micro_f1", "lang": "en",
             "paper_key": ["ner", "X"], **patch}
    with pytest.raises(DataError, match=msg) as err:
        bm.parse_benchmarks({"benchmarks": [entry]}, source="b.yaml")
    assert "b.yaml: benchmarks[0] (X)" in str(err.value)


def test_duplicate_names_rejected():
    e = {"name": "X", "dataset": "d", "split": "test", "task": "ner", "metric": "micro_f1", "lang": "en",
         "paper_key": ["ner", "X"]}
    with pytest.raises(DataError, match="duplicate"):
        bm.parse_benchmarks({"benchmarks": [e, e]})


def test_type_map_collapses_and_filters(monkeypatch):
    fake_codec.install(monkeypatch)
    b = bm.load_benchmarks()["NCBI-disease"]
    rec = _kb("1", [("SpecificDisease", "asthma"), ("Modifier", "breast cancer"), ("Gene", "BRCA1")])
    info = {"name": "ncbi_disease", "lang": "en", "label_names": {"SpecificDisease": {"en": "disease", "zh": "疾病"}}}
    [item] = bm.eval_items(b, [rec], info)
    assert item.target == [["Disease", "asthma"], ["Disease", "breast cancer"]]
    assert item.id.startswith("NCBI-disease:") and item.meta["benchmark"] == "NCBI-disease"
    assert rec["entities"][0]["type"] == "SpecificDisease"  # the caller's record is untouched


def test_bc5cdr_chem_asks_only_chemicals(monkeypatch):
    fake_codec.install(monkeypatch)
    b = bm.load_benchmarks()["BC5CDR-Chem"]
    info = {"label_names": {"Chemical": {"en": "chemical", "zh": "化学物质"}, "Disease": {"en": "disease", "zh": "疾病"}}}
    assert set(bm.prepare_info(b, info)["label_names"]) == {"Chemical"}
    [item] = bm.eval_items(b, [_kb("7", [("Chemical", "aspirin"), ("Disease", "pain")], "bc5cdr")], info)
    assert item.target == [["Chemical", "aspirin"]]


def test_missing_display_names_is_a_clear_error():
    b = bm.load_benchmarks()["BC5CDR-Chem"]
    with pytest.raises(DataError, match=r"BC5CDR-Chem.*Chemical"):
        bm.prepare_info(b, {"label_names": {}})


def test_ids_and_prompts_stable_across_runs_order_and_limit(monkeypatch, tmp_path):
    fake_codec.install(monkeypatch)
    b = bm.load_benchmarks()["NCBI-disease"]
    recs = [_kb(str(i), [("SpecificDisease", f"disease{i}")]) for i in range(30)]
    info = {"label_names": {}}
    a = bm.eval_items(b, recs, info, seed=3)
    again = bm.eval_items(b, list(reversed(recs)), info, seed=3)
    by_id = {x.id: x for x in again}
    assert len(a) == 30 and len(by_id) == 30
    for x in a:
        assert by_id[x.id].messages == x.messages
    assert [x.id for x in bm.eval_items(b, recs, info, seed=3, limit=5)] == [x.id for x in a[:5]]
    assert len({x.template_id for x in a}) > 1  # the rng is per record, not one fixed template
    n = bm.write_eval_file(tmp_path / "eval" / "NCBI-disease.jsonl", a)
    rows = list(read_jsonl(tmp_path / "eval" / "NCBI-disease.jsonl"))
    assert n == 30 and rows[0]["target"] == a[0].target and rows[0]["messages"][1]["role"] == "assistant"


def test_find_dataset_uses_aliases(tmp_path):
    b = bm.load_benchmarks()["CMeIE-dev"]
    assert b.find_dataset(tmp_path) is None
    (tmp_path / "CMeIE-V2").mkdir()
    (tmp_path / "CMeIE-V2" / "dev.jsonl").write_text("")
    assert b.find_dataset(tmp_path) == tmp_path / "CMeIE-V2"
