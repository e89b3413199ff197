"""Parallel-text readers: ParaMed manual alignments and the WMT Biomedical document-aligned test sets."""

from __future__ import annotations

from collections import Counter

import pytest

from taiyi.corpus.schema import validate_records
from taiyi.files import DataError
from taiyi.sources.readers.parallel import detokenize
from taiyi.sources.registry import get_reader

WMT_FILES = {"en2zh": {"src": "medline_en2zh_en.txt", "ref": "medline_en2zh_zh.txt"},
             "zh2en": {"src": "medline_zh2en_zh.txt", "ref": "medline_zh2en_en.txt"}}


def test_paramed_counts(shared_datasets):
    root = shared_datasets / "ParaMed-zh-en"
    recs = list(get_reader("paramed")(root))
    assert validate_records(recs) == []
    links = (root / "align.txt").read_text(encoding="utf-8").splitlines()
    assert len(links) == 1019 and sum("omitted" in x for x in links) == 21
    assert len(recs) == 998 and len({r["document_id"] for r in recs}) == 12
    r = recs[2]
    assert (r["text_1_name"], r["text_2_name"]) == ("en", "zh")
    assert r["text_1"].startswith("platinum-based concurrent") and r["text_2"] == "铂类同步放化疗是局部区域晚期鼻咽癌患者的标准治疗。"
    raw = list(get_reader("paramed")(root, detokenize_text=False, source="zh"))
    assert raw[2]["text_1"].startswith("铂 类 同步") and raw[2]["text_2_name"] == "en"
    # doc1 18 <=> 18,19: two English lines joined
    multi = [x for x in links if x.startswith("doc1\t18 <=>")]
    assert multi == ["doc1\t18 <=> 18,19\tOK"]


def test_detokenize():
    assert detokenize("it &apos;s a non @-@ small cell", "en") == "it 's a non-small cell"
    assert detokenize("补充 附录 表 s1 ， 可 在", "zh") == "补充附录表 s1，可在"


def test_paramed_bad_alignment(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "doc1.en").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "docs" / "doc1.zh").write_text("甲\n", encoding="utf-8")
    (tmp_path / "align.txt").write_text("doc1\t1 <=> 1\tOK\ndoc1\t2 <=> 2\tOK\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"align\.txt:2: zh line 2 outside doc1\.zh \(1 lines\)"):
        list(get_reader("paramed")(tmp_path, docs="docs"))
    (tmp_path / "align.txt").write_text("doc1\t1 -> 1\tOK\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"align\.txt:1: expected"):
        list(get_reader("paramed")(tmp_path, docs="docs"))


def test_wmt_counts(shared_datasets):
    recs = list(get_reader("wmt_doc")(shared_datasets / "WMT-Biomedical-zh-en", files=WMT_FILES))
    assert validate_records(recs) == []
    by_dir = Counter(r["id"].split("-")[0] for r in recs)
    docs = {d: {r["document_id"] for r in recs if r["id"].startswith(d)} for d in ("en2zh", "zh2en")}
    assert len(docs["en2zh"]) == 50 and len(docs["zh2en"]) == 50
    assert sum(by_dir.values()) == len(recs)
    en2zh = [r for r in recs if r["id"].startswith("en2zh")]
    assert {(r["text_1_name"], r["text_2_name"]) for r in en2zh} == {("en", "zh")}
    # every source/reference sentence is in exactly one record: line counts from SOURCE.md
    sents = {"en2zh": (425, 375), "zh2en": (341, 393)}
    for d, (n_src, n_ref) in sents.items():
        doc_level = [r for r in recs if r["id"].startswith(d) and r["id"] == r["document_id"]]
        sent_level = [r for r in recs if r["id"].startswith(d) and r["id"] != r["document_id"]]
        assert len(sent_level) + len(doc_level) == by_dir[d]
        per_doc = Counter(r["document_id"] for r in sent_level)
        src_lines = (shared_datasets / "WMT-Biomedical-zh-en" / WMT_FILES[d]["src"]).read_text(encoding="utf-8").splitlines()
        assert len([x for x in src_lines if x.strip()]) == n_src
        assert sum(per_doc.values()) + sum(Counter(x.split("\t")[0] for x in src_lines)[r["document_id"].split("-", 1)[1]]
                                           for r in doc_level) == n_src
    docs_only = list(get_reader("wmt_doc")(shared_datasets / "WMT-Biomedical-zh-en", files=WMT_FILES, level="document"))
    assert len(docs_only) == 100


def test_wmt_errors(tmp_path):
    (tmp_path / "s.txt").write_text("doc1\t1\tA.\ndoc1\t2\tB.\ndoc2\t1\tC.\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("doc1\t1\t甲。\ndoc2\tx\t丙。\n", encoding="utf-8")
    files = {"en2zh": {"src": "s.txt", "ref": "r.txt"}}
    with pytest.raises(DataError, match=r"r\.txt:2: expected 'docID<TAB>sentNo<TAB>text'"):
        list(get_reader("wmt_doc")(tmp_path, files=files))
    (tmp_path / "r.txt").write_text("doc1\t1\t甲。\ndoc2\t1\t丙。\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"doc1 has 2 source but 1 reference sentences"):
        list(get_reader("wmt_doc")(tmp_path, files=files, level="sentence"))
    recs = list(get_reader("wmt_doc")(tmp_path, files=files))
    assert [(r["id"], r["text_1"], r["text_2"]) for r in recs] == [("en2zh-doc1", "A. B.", "甲。"), ("en2zh-doc2-1", "C.", "丙。")]
