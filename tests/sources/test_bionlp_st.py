"""Tests of the BioNLP shared-task standoff reader: synthetic edge cases, then the eight real corpora's counts."""

from __future__ import annotations

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.convert import read_dataset
from taiyi.sources.readers.bionlp_st import read_bionlp_st

TEXT = "IL-2 expression is not induced by NF-kB binding to the IL-2 promoter."
A1 = "T1\tProtein 0 4\tIL-2\nT2\tProtein 34 39\tNF-kB\nT3\tProtein 55 59\tIL-2\n"
A2 = ("*\tEquiv T1 T3\nT4\tGene_expression 5 15\texpression\nT5\tPositive_regulation 23 30\tinduced\n"
      "T6\tBinding 40 47\tbinding\nT7\tEntity 55 68\tIL-2 promoter\n"
      "E1\tGene_expression:T4 Theme:T1\nE2\tBinding:T6 Theme:T2 Theme2:T3 Site2:T7\n"
      "E3\tPositive_regulation:T5 Theme:E1 Cause:E2\nM1\tNegation E3\nN1\tReference T2 UniProt:P19838\n")


def _write(tmp_path, split_dir="train", a1=A1, a2=A2, name="PMID-1"):
    d = tmp_path / split_dir
    d.mkdir(exist_ok=True)
    (d / f"{name}.txt").write_text(TEXT)
    (d / f"{name}.a1").write_text(a1)
    if a2 is not None:
        (d / f"{name}.a2").write_text(a2)


def test_events_nested_triggers_equiv_and_norms(tmp_path):
    _write(tmp_path)
    (rec,) = read_bionlp_st(tmp_path, dirs={"train": "train"}, dataset="x")
    assert_valid([rec])
    assert rec["id"] == "train_PMID-1" and rec["split"] == "train"
    # triggers T4-T6 are carried by their events, not listed as entities; the site T7 is an entity
    assert [e["id"] for e in rec["entities"]] == ["T1", "T2", "T3", "T7"]
    ev = {e["id"]: e for e in rec["events"]}
    assert ev["E1"]["trigger"] == {"text": ["expression"], "offsets": [[5, 15]]}
    assert ev["E2"]["arguments"] == [{"role": "Theme", "ref_id": "T2"}, {"role": "Theme", "ref_id": "T3"},
                                     {"role": "Site", "ref_id": "T7"}]
    assert ev["E3"]["arguments"] == [{"role": "Theme", "ref_id": "E1"}, {"role": "Cause", "ref_id": "E2"}]
    assert set(ev["E3"]) == {"id", "type", "trigger", "arguments"}  # the Negation modifier is dropped
    assert rec["coreferences"] == [{"id": "PMID-1_coref1", "entity_ids": ["T1", "T3"]}]
    assert rec["entities"][1]["normalized"] == [{"db_name": "UniProt", "db_id": "P19838"}]


def test_event_defined_before_its_trigger_and_trigger_also_an_argument(tmp_path):
    a2 = "E1\tBinding:T4 Theme:T1\nT4\tBinding 40 47\tbinding\nR1\tCoreference Subject:T4 Object:T2\n"
    _write(tmp_path, a2=a2)
    (rec,) = read_bionlp_st(tmp_path, dirs={"train": "train"})
    assert_valid([rec])
    assert [e["id"] for e in rec["entities"]] == ["T1", "T2", "T3", "T4"]  # T4 is referenced by R1, so kept
    assert rec["relations"][0] == {"id": "R1", "type": "Coreference", "arg1_id": "T4", "arg2_id": "T2", "normalized": []}


def test_bionlp_ost_normalisation_lines(tmp_path):
    _write(tmp_path, a2="N1\tNCBI_Taxonomy Annotation:T2 Referent:9606\nN2\tOntoBiotope Annotation:T3 Referent:OBT:000001\n")
    (rec,) = read_bionlp_st(tmp_path, dirs={"train": "train"})
    assert [e["normalized"] for e in rec["entities"]] == [
        [], [{"db_name": "NCBI_Taxonomy", "db_id": "9606"}], [{"db_name": "OntoBiotope", "db_id": "OBT:000001"}]]


def test_rel_gold_and_unlabelled_test(tmp_path):
    _write(tmp_path, a2=None)
    (tmp_path / "train" / "PMID-1.rel").write_text("T4\tEntity 55 68\tIL-2 promoter\nR1\tProtein-Component Arg1:T3 Arg2:T4\n")
    _write(tmp_path, "test", a2=None, name="PMID-2")
    recs = list(read_bionlp_st(tmp_path, dirs={"train": "train", "test_unlabelled": "test"}, gold=".rel"))
    assert_valid(recs)
    assert [r["split"] for r in recs] == ["train", "test_unlabelled"]
    assert len(recs[0]["relations"]) == 1 and len(recs[0]["entities"]) == 4
    assert len(recs[1]["entities"]) == 3 and not recs[1]["events"] and not recs[1]["relations"]


@pytest.mark.parametrize("a2,msg", [
    ("E1\tBinding:T9 Theme:T1\n", r"PMID-1\.a2:1: event trigger T9 is not a text-bound annotation"),
    ("T4\tBinding 40 47\tbinding\nE1\tBinding:T4 Theme:E7\n", r"PMID-1\.a2:2: refers to E7, which no T or E line"),
    ("T1\tEntity 55 68\tIL-2 promoter\n", r"PMID-1\.a2:1: id T1 already defined at .*PMID-1\.a1:1"),
    ("T4\tEntity 55 60\tIL-2 promoter\n", r"PMID-1\.a2:1: span 55 60 gives 'IL-2 ', not 'IL-2 promoter'"),
    ("E1\tBinding\n", r"PMID-1\.a2:1: malformed standoff line"),
])
def test_errors_name_file_and_line(tmp_path, a2, msg):
    _write(tmp_path, a2=a2)
    with pytest.raises(DataError, match=msg):
        list(read_bionlp_st(tmp_path, dirs={"train": "train"}))


def test_missing_gold_or_gold_in_unlabelled_split(tmp_path):
    _write(tmp_path, a2=None)
    with pytest.raises(DataError, match=r"gold file PMID-1\.a2 is missing .*'test_unlabelled'"):
        list(read_bionlp_st(tmp_path, dirs={"train": "train"}))
    _write(tmp_path, "test")
    with pytest.raises(DataError, match="split test_unlabelled has gold annotation"):
        list(read_bionlp_st(tmp_path, dirs={"test_unlabelled": "test"}))
    (tmp_path / "test" / "PMID-1.a1").unlink()
    with pytest.raises(DataError, match=r"given-entity file PMID-1\.a1 is missing"):
        list(read_bionlp_st(tmp_path, dirs={"train": "test"}))


# Per split: (documents, T lines in .a1, T lines in .a2/.rel, E, R, Equiv) as SOURCE.md counts them, and the
# entities converted: the .a1 ones plus the .a2 T lines that are not only event triggers (sites, anaphora, terms).
REAL = {
    "bionlp_shared_task_2009": {"train": (800, 9300, 7041, 8615, 0, 536, 9734), "dev": (150, 2080, 1476, 1795, 0, 110, 2174),
                                "test_unlabelled": (260, 3589, 0, 0, 0, 0, 3589)},
    "bionlp_st_2011_epi": {"train": (600, 7595, 2154, 1852, 0, 440, 8226), "dev": (200, 2499, 728, 601, 0, 168, 2712),
                           "test_unlabelled": (440, 5737, 0, 0, 0, 0, 5737)},
    "bionlp_st_2011_ge": {"train": (908, 11625, 8362, 10310, 0, 571, 12105), "dev": (259, 4690, 2569, 3250, 0, 128, 4871),
                          "test_unlabelled": (347, 5301, 0, 0, 0, 0, 5301)},
    "bionlp_st_2011_id": {"train": (152, 6525, 1606, 2088, 0, 170, 6553), "dev": (46, 1976, 597, 691, 0, 31, 1996),
                          "test_unlabelled": (118, 4239, 0, 0, 0, 0, 4239)},
    "bionlp_st_2011_rel": {"train": (800, 9297, 8266, 0, 1857, 535, 17563), "dev": (150, 2080, 1663, 0, 480, 110, 3743),
                           "test_unlabelled": (260, 3589, 0, 0, 0, 0, 3589)},
    "bionlp_st_2013_cg": {"train": (300, 10935, 7469, 8803, 0, 466, 11034), "dev": (100, 3634, 2451, 2915, 0, 176, 3665),
                          "test_unlabelled": (200, 6955, 0, 0, 0, 0, 6955)},
    "bionlp_st_2013_ge": {"train": (222, 3571, 2436, 2817, 178, 53, 3815), "dev": (249, 4138, 2897, 3199, 160, 41, 4597),
                          "test_unlabelled": (305, 4359, 0, 0, 0, 0, 4359)},
    "bionlp_st_2013_gro": {"train": (150, 5902, 2005, 2175, 1964, 0, 5902), "dev": (50, 1910, 668, 747, 581, 0, 1910),
                           "test_unlabelled": (100, 4007, 0, 0, 0, 0, 4007)},
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_corpus_counts(shared_datasets, name):
    got = read_dataset(name, shared_datasets)  # the catalog entry's reader options; validated by read_dataset
    assert list(got) == list(REAL[name])
    for split, (docs, t_a1, t_a2, n_ev, n_rel, n_equiv, n_ent) in REAL[name].items():
        recs = got[split]
        assert_valid(recs, source=f"{name}/{split}")
        count = lambda key: sum(len(r[key]) for r in recs)  # noqa: E731
        assert (len(recs), count("events"), count("relations"), count("coreferences")) == (docs, n_ev, n_rel, n_equiv)
        assert count("entities") == n_ent and t_a1 <= n_ent <= t_a1 + t_a2
        if n_ev:  # nested events: some argument names another event, and it exists in the same document
            nested = [(r, a) for r in recs for ev in r["events"] for a in ev["arguments"] if a["ref_id"].startswith("E")]
            assert nested and all(any(ev["id"] == a["ref_id"] for ev in r["events"]) for r, a in nested[:200])
