"""title codec: templates, round-trip on real PubMed titles (kb title passages), sloppy answers, ROUGE-L."""

from __future__ import annotations

import json
import random

import pytest

from taiyi.corpus.schema import make_passages, new_record
from taiyi.instructions.tasks import title
from taiyi.instructions.tasks.base import ParseError, load_templates


def _roundtrip(record):
    found = title.gold_source(record)
    if found is None:
        return 0
    kind, _text, raw = found
    lang = record["lang"] if record["lang"] in ("zh", "en") else "en"
    target = title.canonical_target(raw, kind, lang)
    meta = {"lang": lang, "phrasing": 0, "kind": kind}
    for k in range(len(load_templates("title", lang).answers[kind])):
        text = title.render(target, meta, k)
        assert title.parse(text, meta) == target, (record["id"], k, text)
    return 1


def _kb(title_text, abstract, lang="en", rid="1"):
    return new_record("kb", id=rid, document_id=rid, dataset="X", split="train", lang=lang,
                      passages=make_passages([("title", title_text), ("abstract", abstract)]))


def test_roundtrip_real_pubtator_titles(shared_datasets):
    n = 0
    for path in (shared_datasets / "BC5CDR").rglob("*.PubTator.txt"):
        docs: dict[str, dict] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("|", 2)
            if len(parts) == 3 and parts[1] in ("t", "a"):
                docs.setdefault(parts[0], {})[parts[1]] = parts[2]
        for pmid, d in docs.items():
            n += _roundtrip(_kb(d.get("t", ""), d.get("a", ""), rid=pmid))
    assert n >= 1500


def test_examples_from_kb_and_t2t():
    ins = title.examples(_kb("Aspirin and stroke.", "We studied aspirin."), random.Random(1), {"lang": "en"}, "eval")[0]
    assert ins.target == "Aspirin and stroke." and "We studied aspirin." in ins.messages[0]["content"]
    assert "Aspirin and stroke." not in ins.messages[0]["content"] and ins.meta["kind"] == "title"
    assert title.parse(ins.messages[1]["content"], ins.meta) == ins.target
    json.dumps(ins.meta)
    summ = new_record("t2t", id="s", document_id="s", dataset="X", split="train", lang="zh", text_1="长文本……",
                      text_2="短摘要。", text_1_name="text", text_2_name="summary")
    s = title.examples(summ, random.Random(0), {"lang": "zh"})[0]
    assert s.meta["kind"] == "summary" and s.target == "短摘要。"
    assert s.template_id in {p["id"] for p in load_templates("title", "zh").prompts if p["kind"] == "summary"}
    assert title.examples(_kb("", "abstract only"), random.Random(0), {}) == []


@pytest.mark.parametrize(
    "text,lang,expected",
    [
        ("标题：阿司匹林与卒中", "zh", "阿司匹林与卒中"),
        ("标题: 《阿司匹林与卒中》", "zh", "阿司匹林与卒中"),
        ("  建议的标题是：阿司匹林与卒中\n这个标题概括了研究的主要内容。", "zh", "阿司匹林与卒中"),
        ("Title : Aspirin and stroke", "en", "Aspirin and stroke"),
        ("**Title:** \"Aspirin and stroke\"\n\nThis title reflects the main finding.", "en", "Aspirin and stroke"),
        ("TITLE：Aspirin and stroke", "en", "Aspirin and stroke"),
    ],
)
def test_parse_sloppy(text, lang, expected):
    assert title.parse(text, {"lang": lang, "phrasing": 0, "kind": "title"}) == expected


@pytest.mark.parametrize("text", ["", "   ", "Title:", "标题：  "])
def test_parse_garbage_raises(text):
    with pytest.raises(ParseError):
        title.parse(text, {"lang": "en", "phrasing": 0, "kind": "title"})
