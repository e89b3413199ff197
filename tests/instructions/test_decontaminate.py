"""Decontamination: shared PMIDs, exact texts and long n-grams (word-level English, char-level Chinese)."""

from taiyi.instructions.decontaminate import ContaminationIndex, doc_key


def rec(dataset, doc, text, schema="text"):
    return {"dataset": dataset, "document_id": doc, "schema": schema, "text": text, "labels": []}


def test_document_text_and_ngrams():
    en = "the patient was treated with high dose aspirin for chronic inflammatory disease of the joints and recovered well"
    zh = "患者因反复发作的胸痛入院，经冠状动脉造影检查后诊断为不稳定型心绞痛，给予阿司匹林和氯吡格雷双联抗血小板治疗，症状明显缓解后出院随访"
    idx = ContaminationIndex()
    idx.add_all([rec("bc5cdr", "12345678", "some eval abstract"), rec("a", "x1", en), rec("b", "y1", zh)])
    assert doc_key({"dataset": "z", "document_id": "PMID:12345678"}) == "pmid:12345678"
    assert idx.check(rec("other", "12345678", "different text")) == "contaminated_document"
    assert idx.check(rec("other", "9", "Some  EVAL abstract")) == "contaminated_text"
    assert idx.check(rec("other", "9", "Intro. " + " ".join(en.split()[:14]) + " then more")) == "contaminated_ngram"
    assert idx.check(rec("other", "9", "前言：" + zh[5:60] + "。")) == "contaminated_ngram"
    assert idx.check(rec("other", "9", " ".join(en.split()[:12]))) is None  # 12 words < 13-gram
    assert idx.check(rec("other", "9", zh[:40])) is None  # 40 chars < 50-gram
    assert idx.check(rec("a", "x2", "unrelated")) is None and idx.check(rec("zz", "x1", "unrelated")) is None
