"""Chat encoding: ids equal the tokenizer's template, labels exactly on answers + <|im_end|>, truncation rules."""

from __future__ import annotations

import json

import pytest

from taiyi.files import DataError
from taiyi.train.chat_format import (
    EOD_TOKEN,
    IGNORE_INDEX,
    ChatEncoder,
    encode_file,
    save_chat_assets,
    stop_token_ids,
    validate_messages,
)

SINGLE = [
    {"role": "user", "content": "Extract the disease entities: the patient has asthma."},
    {"role": "assistant", "content": "Disease: asthma"},
]
MULTI = [
    {"role": "system", "content": "You are a medical assistant."},
    {"role": "user", "content": "头痛怎么办？"},
    {"role": "assistant", "content": "多休息，多喝水。"},
    {"role": "user", "content": "还有呢？"},
    {"role": "assistant", "content": "如果持续，请就医。"},
]


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _spans(labels):
    """Contiguous supervised spans as (start, end) pairs."""
    spans, start = [], None
    for i, t in enumerate(labels + [IGNORE_INDEX]):
        if t != IGNORE_INDEX and start is None:
            start = i
        elif t == IGNORE_INDEX and start is not None:
            spans.append((start, i))
            start = None
    return spans


@pytest.mark.parametrize("messages", [SINGLE, MULTI], ids=["single", "multi"])
def test_ids_equal_apply_chat_template_and_labels_exactly_on_answers(tok, messages):
    enc = ChatEncoder(tok, max_length=1024)
    ex, status = enc.encode(messages)
    assert status == "ok"
    ref = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert ex["input_ids"] == list(ref["input_ids"])
    # the template's {% generation %} markers say which tokens belong to answers (content + <|im_end|>)
    mask = list(ref["assistant_masks"])
    for i, (t, lab) in enumerate(zip(ex["input_ids"], ex["labels"])):
        assert (lab != IGNORE_INDEX) == bool(mask[i]), f"position {i}"
        if lab != IGNORE_INDEX:
            assert lab == t
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    spans = _spans(ex["labels"])
    assert len(spans) == len(answers)  # every assistant turn is supervised
    for (s, e), answer in zip(spans, answers):
        assert ex["input_ids"][e - 1] == im_end  # the closing <|im_end|> is learned
        assert tok.decode(ex["input_ids"][s:e]) == answer + "<|im_end|>"


def test_long_prompt_is_truncated_never_the_answer(tok):
    answer = "Disease: asthma; Disease: chronic obstructive pulmonary disease"
    msgs = [{"role": "user", "content": "Extract diseases. " + "The patient coughs at night. " * 200},
            {"role": "assistant", "content": answer}]
    enc = ChatEncoder(tok, max_length=96)
    ex, status = enc.encode(msgs)
    assert status == "truncated"
    assert len(ex["input_ids"]) <= 96
    assert len(ex["input_ids"]) >= 90  # keeps as much prompt as fits
    sup = [t for t in ex["labels"] if t != IGNORE_INDEX]
    assert tok.decode(sup) == answer + "<|im_end|>"
    assert tok.decode(ex["input_ids"]).startswith("<|im_start|>user\nExtract diseases.")


def test_multi_turn_drops_oldest_exchange_first(tok):
    msgs = [{"role": "system", "content": "sys"},
            {"role": "user", "content": "old question " * 40}, {"role": "assistant", "content": "old answer"},
            {"role": "user", "content": "new question"}, {"role": "assistant", "content": "new answer"}]
    ex, status = ChatEncoder(tok, max_length=64).encode(msgs)
    assert status == "truncated"
    text = tok.decode(ex["input_ids"])
    assert len(ex["input_ids"]) <= 64
    assert "old" not in text and text.startswith("<|im_start|>system\nsys") and "new question" in text
    assert tok.decode([t for t in ex["labels"] if t != IGNORE_INDEX]) == "new answer<|im_end|>"


def test_unfittable_records_are_dropped_and_counted(tok, tmp_path):
    path = tmp_path / "stage1.jsonl"
    rows = [
        {"id": "ok-1", "messages": SINGLE},
        {"id": "huge-answer", "messages": [{"role": "user", "content": "q"},
                                           {"role": "assistant", "content": "very long answer " * 100}]},
        {"id": "ok-2", "messages": MULTI},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    examples, stats = encode_file(path, ChatEncoder(tok, max_length=64), progress=False)
    assert len(examples) == 2 and stats.kept == 2 and stats.seen == 3
    assert stats.dropped == {"answer_too_long": 1} and stats.dropped_ids == ["huge-answer"]
    assert all(len(e["input_ids"]) <= 64 for e in examples)


def test_bad_record_names_file_and_id(tok, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "r7", "messages": [{"role": "robot", "content": "x"}]}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl: record r7: messages\[0\]"):
        encode_file(path, ChatEncoder(tok), progress=False)
    with pytest.raises(DataError, match="no assistant turn"):
        validate_messages([{"role": "user", "content": "x"}], "f:1")


def test_eod_format(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    enc = ChatEncoder(tok, max_length=256, fmt="eod")
    ex, _ = enc.encode(SINGLE)
    eod = tok.convert_tokens_to_ids(EOD_TOKEN)
    user = tok.encode(SINGLE[0]["content"], add_special_tokens=False)
    ans = tok.encode(SINGLE[1]["content"], add_special_tokens=False)
    assert ex["input_ids"] == [eod] + user + [eod] + ans + [eod]
    assert ex["labels"] == [IGNORE_INDEX] * (len(user) + 2) + ans + [eod]
    assert stop_token_ids(tok, "eod") == [eod]


def test_saved_assets_carry_stop_ids(tok, tmp_path):
    from transformers import AutoTokenizer, GenerationConfig

    save_chat_assets(tok, tmp_path)
    gen = GenerationConfig.from_pretrained(tmp_path)
    assert tok.convert_tokens_to_ids("<|im_end|>") in gen.eos_token_id
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again.apply_chat_template(SINGLE, tokenize=False) == tok.apply_chat_template(SINGLE, tokenize=False)


QWEN25_STYLE = (  # Qwen2.5's own layout: no {% generation %} markers, a default system prompt
    "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def test_template_without_generation_markers(tiny_model_dir):
    """Hub Qwen templates have no {% generation %} markers; labels come from rendered prefixes instead."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = QWEN25_STYLE
    ex, _ = ChatEncoder(tok).encode(MULTI[1:])  # no system message: the template adds its default one
    assert ex["input_ids"] == tok.apply_chat_template(MULTI[1:], tokenize=True, return_dict=False)
    assert tok.decode(ex["input_ids"]).startswith("<|im_start|>system\nYou are a helpful assistant.")
    spans = _spans(ex["labels"])
    assert [tok.decode(ex["input_ids"][s:e]) for s, e in spans] == ["多休息，多喝水。<|im_end|>", "如果持续，请就医。<|im_end|>"]
