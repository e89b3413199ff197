"""Tests of the mention-list readers: standoff_tsv (LINNAEUS), genetag, inline_xml (OSIRIS); tmVar v1 through
pubtator. Synthetic edge cases first, then each real corpus's counts against its SOURCE.md."""

from __future__ import annotations

from collections import Counter

import pytest

from taiyi.corpus.schema import assert_valid
from taiyi.files import DataError
from taiyi.sources.convert import read_dataset
from taiyi.sources.readers.genetag import read_genetag
from taiyi.sources.readers.inline_xml import read_inline_xml
from taiyi.sources.readers.standoff_tsv import read_standoff_tsv


def _tsv_corpus(tmp_path, rows):
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "d1.txt").write_text("Yeast and human cells.")
    (tmp_path / "txt" / "d2.txt").write_text("No species here.")
    (tmp_path / "tags.tsv").write_text("#species id\tdocument\tstart\tend\ttext\tcode\n" + rows)
    (tmp_path / "train.txt").write_text("d1\n")
    (tmp_path / "test.txt").write_text("d2\n")


def test_standoff_tsv_splits_ids_and_bad_rows(tmp_path):
    _tsv_corpus(tmp_path, "species:ncbi:4932\td1\t0\t5\tYeast\t\nspecies:ncbi:9606\td1\t10\t15\thuman\t4\n")
    recs = list(read_standoff_tsv(tmp_path, texts="txt", mentions="tags.tsv", entity_type="species", db_name="NCBI Taxonomy",
                                  split_lists={"train": "train.txt", "test": "test.txt"}))
    assert_valid(recs)
    assert [(r["split"], r["document_id"], len(r["entities"])) for r in recs] == [("train", "d1", 2), ("test", "d2", 0)]
    assert recs[0]["entities"][1]["normalized"] == [{"db_name": "NCBI Taxonomy", "db_id": "9606"}]
    assert [r["split"] for r in read_standoff_tsv(tmp_path, texts="txt", mentions="tags.tsv")] == ["train", "train"]
    (tmp_path / "tags.tsv").write_text("species:ncbi:9606\td1\t10\t14\thuman\t\n")
    with pytest.raises(DataError, match=r"tags\.tsv:1: \[10,14\] of d1 gives 'huma', not 'human'"):
        list(read_standoff_tsv(tmp_path, texts="txt", mentions="tags.tsv"))
    (tmp_path / "tags.tsv").write_text("species:ncbi:9606\td9\t10\t15\thuman\t\n")
    with pytest.raises(DataError, match=r"tags\.tsv:1: document d9 is in no split"):
        list(read_standoff_tsv(tmp_path, texts="txt", mentions="tags.tsv"))


def test_genetag_token_indices_and_the_repair_rule(tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    (d / "TOKENIZED_CORPUS").write_text("@@1 binding/TAG of/TAG CREB/TAG //TAG ATF/TAG proteins/TAG ./.\n"
                                        "@@2 the/TAG IL-2/TAG receptor/TAG and/TAG SAPK/TAG ./.\n")
    (d / "Gold.format").write_text("@@1|2 2|CREB / ATF proteins\n@@2|1 2|il-2 receptor\n@@2|4 4|SAP\n@@1|4 4ATF\n")
    recs = list(read_genetag(tmp_path, dirs={"train": "train"}))
    assert_valid(recs)
    assert recs[0]["passages"][0]["text"] == ["binding of CREB / ATF proteins ."]
    assert [e["text"] for r in recs for e in r["entities"]] == [["CREB / ATF proteins"], ["ATF"], ["IL-2 receptor"], ["SAPK"]]
    (d / "Gold.format").write_text("@@1|5 7|proteins .\n")
    with pytest.raises(DataError, match=r"Gold\.format:1: tokens 5-7 outside sentence 1 of 7 tokens"):
        list(read_genetag(tmp_path, dirs={"train": "train"}))


XML = ("<Articles><Article><Pmid>1</Pmid><Title>The <gene g_id=\"7040\">TGFB1</gene> gene.</Title>"
       "<Abstract>A <gene g_id=\"No\">TGFB1</gene> <variant v_id=\"660339\">A55V</variant> allele.</Abstract></Article>"
       "<Article><Pmid>2</Pmid><Title>None.</Title><Abstract>Nothing tagged.</Abstract></Article></Articles>")
OSIRIS = {"document": "Article", "id_field": "Pmid", "passages": ["Title", "Abstract"], "no_id": ["No"],
          "mentions": {"gene": {"type": "gene", "id_attr": "g_id", "db_name": "NCBI Gene"},
                       "variant": {"type": "variant", "id_attr": "v_id", "db_name": "dbSNP"}}}


def test_inline_xml_offsets_and_ids(tmp_path):
    (tmp_path / "c.xml").write_text(XML)
    recs = list(read_inline_xml(tmp_path, files={"train": "c.xml"}, **OSIRIS))
    assert_valid(recs)
    ents = recs[0]["entities"]
    assert [(e["type"], e["text"][0], e["offsets"]) for e in ents] == [
        ("gene", "TGFB1", [[4, 9]]), ("gene", "TGFB1", [[18, 23]]), ("variant", "A55V", [[24, 28]])]
    assert [e["normalized"] for e in ents] == [[{"db_name": "NCBI Gene", "db_id": "7040"}], [],
                                              [{"db_name": "dbSNP", "db_id": "660339"}]]
    (tmp_path / "c.xml").write_text(XML.replace("<Pmid>2</Pmid>", "<Pmid>1</Pmid>"))
    with pytest.raises(DataError, match=r"c\.xml: <Article> number 2 has a repeated <Pmid>"):
        list(read_inline_xml(tmp_path, files={"train": "c.xml"}, **OSIRIS))
    (tmp_path / "c.xml").write_text(XML[:-5])
    with pytest.raises(DataError, match=r"c\.xml: malformed XML"):
        list(read_inline_xml(tmp_path, files={"train": "c.xml"}, **OSIRIS))


# SOURCE.md counts: {split: (records, entities)} and entities by type over all splits
REAL = {
    "linnaeus": ({"train": (50, 2119), "dev": (17, 708), "test": (33, 1432)}, {"species": 4259}),
    "genetag": ({"train": (7500, 8935), "dev": (5000, 5949), "test": (2500, 2987)}, {"GENE": 17871}),
    "osiris": ({"train": (105, 1365)}, {"gene": 802, "variant": 563}),
    "tmvar_v1": ({"train": (334, 967), "test": (166, 464)}, {"DNAMutation": 651, "ProteinMutation": 645, "SNP": 135}),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_corpus_counts(shared_datasets, name):
    got = read_dataset(name, shared_datasets)  # the catalog entry's reader options; validated by read_dataset
    sizes, types = REAL[name]
    assert {s: (len(rs), sum(len(r["entities"]) for r in rs)) for s, rs in got.items()} == sizes
    assert Counter(e["type"] for rs in got.values() for r in rs for e in r["entities"]) == types
    if name == "linnaeus":  # 4,259 rows over 95 documents; the split lists also hold the 5 without any
        assert sum(1 for rs in got.values() for r in rs if r["entities"]) == 95
