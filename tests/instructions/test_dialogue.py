"""dialogue codec: templates, multi-turn messages, round-trip of every assistant turn on real dialogues, sloppy replies."""

from __future__ import annotations

import json
import random
import re

import pytest

from taiyi.corpus.schema import new_record
from taiyi.instructions.tasks import dialogue
from taiyi.instructions.tasks.base import ParseError, load_templates


def _roundtrip(record, lang):
    n = 0
    for turn in record["turns"]:
        if turn["role"] != "assistant" or not turn["content"].strip():
            continue
        target = dialogue.assistant_text(turn["content"], lang)
        assert target, (record["id"], turn["content"][:100])
        meta = {"lang": lang, "phrasing": 0}
        for k in range(len(load_templates("dialogue", lang).answers)):
            text = dialogue.render(target, meta, k)
            assert dialogue.parse(text, meta) == target, (record["id"], k, text[:200])
        n += 1
    return n


def _liver_cancer_records(path):
    """BenTsao liver-cancer multi-turn file: ' <user>: ... <bot>: ...' instruction + final output."""
    out = []
    for i, item in enumerate(json.load(open(path, encoding="utf-8"))):
        parts = re.split(r"\s*<(user|bot)>:\s*", item["instruction"])
        turns = [{"role": "user" if r == "user" else "assistant", "content": c.strip()} for r, c in zip(parts[1::2], parts[2::2])]
        turns.append({"role": "assistant", "content": item["output"]})
        out.append(new_record("dialogue", id=str(i), document_id=str(i), dataset="lc", split="train", lang="zh", turns=turns))
    return out


def test_roundtrip_real_raw_multiturn(shared_datasets):
    recs = _liver_cancer_records(shared_datasets / "Huatuo-Llama-Med-Chinese/liver_cancer_multiturn.json")
    assert sum(_roundtrip(r, "zh") for r in recs) > 1000


def test_examples_multiturn_messages():
    turns = [
        {"role": "system", "content": "You are a doctor."},
        {"role": "user", "content": "I have a cough."},
        {"role": "assistant", "content": "How long have you had it?"},
        {"role": "user", "content": "Two weeks."},
        {"role": "assistant", "content": "Please get a chest X-ray."},
        {"role": "user", "content": "Thanks!"},
    ]
    rec = new_record("dialogue", id="d", document_id="d", dataset="X", split="train", lang="en", turns=turns)
    ins = dialogue.examples(rec, random.Random(2), {"lang": "en"}, mode="eval")[0]
    assert [m["role"] for m in ins.messages] == ["system", "user", "assistant", "user", "assistant"]  # trailing user turn dropped
    assert "I have a cough." in ins.messages[1]["content"] and ins.messages[3]["content"] == "Two weeks."
    assert ins.target == "Please get a chest X-ray."
    assert [dialogue.parse(m["content"], ins.meta) for m in ins.messages if m["role"] == "assistant"] == [
        "How long have you had it?", "Please get a chest X-ray."]
    assert ins.to_record(with_target=True) == dialogue.examples(rec, random.Random(2), {"lang": "en"}, mode="eval")[0].to_record(with_target=True)
    json.dumps(ins.meta)
    no_reply = new_record("dialogue", id="e", document_id="e", dataset="X", split="train", lang="en", turns=turns[:2])
    assert dialogue.examples(no_reply, random.Random(0), {}) == []


@pytest.mark.parametrize(
    "text,lang,expected",
    [
        ("医生：建议您多喝水。", "zh", "建议您多喝水。"),
        ("医生: 建议您多喝水。", "zh", "建议您多喝水。"),
        ("  【医生回复】建议您多喝水。  ", "zh", "建议您多喝水。"),
        ("回复：建议您多喝水。", "zh", "建议您多喝水。"),
        ("Doctor : Please rest.", "en", "Please rest."),
        ("**Doctor:** Please rest.", "en", "Please rest."),
        ("assistant：Please rest.", "en", "Please rest."),
    ],
)
def test_parse_sloppy(text, lang, expected):
    assert dialogue.parse(text, {"lang": lang, "phrasing": 0}) == expected


@pytest.mark.parametrize("text", ["", "  ", "医生：", "Doctor:"])
def test_parse_garbage_raises(text):
    with pytest.raises(ParseError):
        dialogue.parse(text, {"lang": "zh", "phrasing": 0})


def test_raw_speaker_label_is_not_part_of_the_target():
    assert dialogue.assistant_text(" 医生:确诊后请复查。", "zh") == "确诊后请复查。"
    assert dialogue.assistant_text("Doctor: Rest.", "en") == "Rest."
