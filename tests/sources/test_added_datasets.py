"""The datasets added to ../shared/datasets later, read through their catalog entries: counts per split equal the
numbers their SOURCE.md computed from the files, every record is schema-valid (read_dataset validates)."""

from __future__ import annotations

from collections import Counter

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.sources.catalog import get_entry
from taiyi.sources.convert import read_dataset
from taiyi.sources.counts import compare

# dataset -> {split: records}, from each folder's SOURCE.md ("Counts (computed here)")
COUNTS = {
    "COVID_Similarity": {"train": 8753 - 6, "dev": 2002},  # 6 train rows without a label are dropped
    "bio_simlex": {"train": 988},
    "umnsrs": {"train": 566},
    "mayosrs": {"train": 101},
    "minimayosrs": {"train": 29},
    "biosses": {"train": 64, "dev": 16, "test": 20},
    "ehr_rel": {"train": 111 + 3630},
    "mqp": {"train": 3048},
    "gad": {"train": 4261, "dev": 535, "test": 534},
    # SOURCE.md says 24,999 / 4,999 because it took the first row for a header; the files have none (the README
    # and the catalog say 25,000 / 5,000, and the first row is sample GSM1452115, checked below)
    "geokhoj_v1": {"train": 25000, "test": 5000},
    "Medication_QA": {"train": 690},
    "meqsum": {"train": 1000},
    "mediqa_rqe": {"train": 8588 - 1, "dev": 302, "test": 230},  # pair 5860 has an empty <faq>
    # 34 training questions have no answer the reference judged correct (ReferenceScore >= 3), counted below
    "mediqa_qa": {"train": 104 + 104 - 34, "dev": 25, "test": 150},
    "LiveQA": {"test": 104},
    "bioinfer": {"train": 894, "test": 206},  # sentences (of 669 / 167 documents)
    "hprd50": {"train": 34, "test": 9},  # documents
    "iepa": {"train": 160, "test": 40},  # documents
    "pico_extraction": {"train": 423},
    "DiaKG": {"train": 60},  # paragraphs of the 1-document sample
    "TCM-SD-TC": {"train": 5},
}

# dataset -> {split: (entities, relations)}, from SOURCE.md
KB_TOTALS = {
    "bioinfer": {"train": (3611, 2109), "test": (810, 425)},
    "hprd50": {"train": (320, 137), "test": (85, 26)},
    "iepa": {"train": (907, 279), "test": (210, 56)},
    "DiaKG": {"train": (424, 173)},
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_equal_source_md(shared_datasets, name):
    entry = get_entry(name)
    assert entry.status == "supported" and entry.reader_name
    splits = read_dataset(name, shared_datasets)
    assert {s: len(r) for s, r in splits.items()} == COUNTS[name]
    assert validate_records([r for recs in splits.values() for r in recs]) == []
    unexplained = [row for row in compare(entry, COUNTS[name]) if not row["note"]]
    assert unexplained == [], f"{name}: counts differ from the catalog's splits and count_notes says not why"


def _labels(recs, key="label"):
    return Counter(r[key] if key == "label" else r[key][0] if r[key] else "" for r in recs)


def test_label_distributions_match_source_md(shared_datasets):
    covid = read_dataset("COVID_Similarity", shared_datasets)
    assert _labels(covid["train"]) == {"1": 3497, "0": 5250}
    assert _labels(covid["dev"]) == {"1": 804, "0": 1198}
    assert _labels(read_dataset("mqp", shared_datasets)["train"]) == {"1": 1524, "0": 1524}
    gad = read_dataset("gad", shared_datasets)
    assert [_labels(gad[s], "labels") for s in ("train", "dev", "test")] == [
        {"1": 2227, "0": 2034}, {"1": 293, "0": 242}, {"1": 281, "0": 253}]


def test_field_mapping_on_real_rows(shared_datasets):
    geo = read_dataset("geokhoj_v1", shared_datasets)["train"]
    assert geo[0]["document_id"] == "GSM1452115" and geo[0]["labels"] == ["1"]
    assert geo[0]["text"].startswith("Heart_S020513-093_Prednisolone_3d")  # leading space of the column stripped
    ehr = read_dataset("ehr_rel", shared_datasets)["train"]
    first = ehr[0]
    assert (first["text_1"], first["text_2"], first["label"]) == (
        "Abdominal colic", "Delivery by emergency caesarean section", "0.4")
    assert first["id"] == "train-EHR-RelA-2" and ehr[111]["id"] == "train-EHR-RelB-2"
    umn = read_dataset("umnsrs", shared_datasets)["train"]
    assert (umn[1]["text_1"], umn[1]["text_2"], umn[1]["label"]) == ("carbatrol", "dilantin", "370.5")
    biosses = read_dataset("biosses", shared_datasets)
    assert all(0 <= float(r["label"]) <= 4 for recs in biosses.values() for r in recs)
    assert biosses["train"][0]["id"] == "train-78"  # BLURB's pair_id column


def test_xml_and_xlsx_datasets_on_real_files(shared_datasets):
    import xml.etree.ElementTree as ET

    root = shared_datasets / "mediqa_qa"
    unanswered = sum(1 for f in ("MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml", "MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml")
                     for q in ET.parse(root / f).getroot().iter("Question")
                     if not any(a.get("ReferenceScore") in ("3", "4") for a in q.iter("Answer")))
    assert unanswered == 34
    qa = read_dataset("mediqa_qa", shared_datasets)
    first = qa["dev"][0]
    assert first["id"] == "dev-2" and first["question"].startswith("about uveitis. IS THE UVEITIS")
    assert first["answer"] and all("\t" not in a and "\n" not in a for a in first["answer"])  # whitespace collapsed
    rqe = read_dataset("mediqa_rqe", shared_datasets)
    assert {r["label"] for recs in rqe.values() for r in recs} == {"true", "false"}
    assert Counter(r["label"] for r in rqe["train"]) == {"true": 4655 - 1, "false": 3933}
    live = read_dataset("LiveQA", shared_datasets)["test"]
    assert live[0]["id"] == "test-TQ1" and len(live[0]["answer"]) == 3
    assert live[0]["question"] == "Noonan syndrome\nWhat are the references with noonan syndrome and polycystic renal disease"
    meqsum = read_dataset("meqsum", shared_datasets)["train"]
    assert (meqsum[0]["id"], meqsum[0]["text_2"]) == ("train-1-131188152.xml.txt", "Who manufactures cetirizine?")
    assert meqsum[0]["text_1"].startswith("SUBJECT: who and where to get cetirizine")
    med = read_dataset("Medication_QA", shared_datasets)["train"]
    assert med[0]["question"] == "how does rivatigmine and otc sleep medicine interact" and med[0]["type"] == "free"


@pytest.mark.parametrize("name", sorted(KB_TOTALS))
def test_kb_entity_and_relation_totals(shared_datasets, name):
    splits = read_dataset(name, shared_datasets)
    got = {s: (sum(len(r["entities"]) for r in recs), sum(len(r["relations"]) for r in recs)) for s, recs in splits.items()}
    assert got == KB_TOTALS[name]


def test_ppi_details(shared_datasets):
    bio = read_dataset("bioinfer", shared_datasets)
    assert len({r["document_id"] for r in bio["train"]}) == 669 and len({r["document_id"] for r in bio["test"]}) == 167
    disc = [e for recs in bio.values() for r in recs for e in r["entities"] if len(e["offsets"]) > 1]
    assert len(disc) == 106 + 16  # discontinuous names (s-e,s-e), fragments checked against the XML text
    hprd = read_dataset("hprd50", shared_datasets)["train"]
    assert all(e["type"] == "protein" and e["normalized"] and e["normalized"][0]["db_name"] == "HPRD"
               for r in hprd for e in r["entities"])
    two = [e for r in hprd for e in r["entities"] if len(e["normalized"]) == 2]
    assert two and all(n["db_id"].startswith("pm") for e in two for n in e["normalized"])  # 'pm..||pm..' split
    iepa = read_dataset("iepa", shared_datasets)["train"][0]
    assert len(iepa["passages"]) >= 1 and iepa["relations"][0]["type"] == "PPI"


def test_pico_majority_vote(shared_datasets):
    recs = read_dataset("pico_extraction", shared_datasets)["train"]
    types = Counter(e["type"] for r in recs for e in r["entities"])
    # maximal runs of tokens marked by at least 2 of the 3 experts (computed from the JSON independently)
    assert types == {"participant": 145, "intervention": 307, "outcome": 396}
    r = next(x for x in recs if x["id"] == "train-23417625:5")
    assert [e["text"][0] for e in r["entities"] if e["type"] == "intervention"] == [
        r["passages"][0]["text"][0].split(" ")[5], r["passages"][0]["text"][0].split(" ")[7]]
