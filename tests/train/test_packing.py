"""Packing: padding-free batches give the same logits as separate sequences (no cross-example attention)."""

from __future__ import annotations

import pytest
import torch

from taiyi.train.chat_format import ChatEncoder
from taiyi.train.packing import IGNORE_INDEX, make_collator, make_packing_safe, useful_tokens

CONVS = [
    [{"role": "user", "content": "Extract diseases: asthma and fever."}, {"role": "assistant", "content": "asthma; fever"}],
    [{"role": "user", "content": "问题：糖尿病的症状？"}, {"role": "assistant", "content": "多饮、多尿。"}],
    [{"role": "user", "content": "Is aspirin an NSAID?"}, {"role": "assistant", "content": "yes"},
     {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "It inhibits COX enzymes."}],
]


@pytest.fixture(scope="module")
def model_and_examples(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    enc = ChatEncoder(tok, max_length=256)
    return tok, model, [enc.encode(c)[0] for c in CONVS]


def test_packed_logits_equal_unpacked(model_and_examples):
    tok, model, examples = model_and_examples
    make_packing_safe(model)
    batch = make_collator(tok, packing=True)(examples)
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1
    lens = [len(e["input_ids"]) for e in examples]
    expected_pos = torch.cat([torch.arange(n) for n in lens])
    assert torch.equal(batch["position_ids"][0], expected_pos)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        start = 0
        for e, n in zip(examples, lens):
            alone = model(input_ids=torch.tensor([e["input_ids"]])).logits[0]
            torch.testing.assert_close(packed[start : start + n], alone, rtol=1e-4, atol=1e-4)
            start += n
    # the first label of every example is masked so no example learns to predict the next one's start
    starts = torch.cumsum(torch.tensor([0] + lens[:-1]), 0)
    assert all(batch["labels"][0, s] == IGNORE_INDEX for s in starts.tolist())
    assert useful_tokens(batch) == sum(lens)


def test_cache_on_would_leak_across_examples(model_and_examples):
    """Why make_packing_safe exists: with use_cache=True transformers ignores the packed layout."""
    tok, model, examples = model_and_examples
    batch = make_collator(tok, packing=True)(examples)
    model.config.use_cache = True
    try:
        with torch.no_grad():
            leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
    finally:
        make_packing_safe(model)
    with torch.no_grad():
        safe = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
    n0 = len(examples[0]["input_ids"])
    assert not torch.allclose(leaky[n0:], safe[n0:], atol=1e-4)


def test_padded_collator_for_length_grouped_batches(model_and_examples):
    tok, _, examples = model_and_examples
    batch = make_collator(tok, packing=False)(examples)
    longest = max(len(e["input_ids"]) for e in examples)
    assert batch["input_ids"].shape == (3, longest)
    assert useful_tokens(batch) == sum(len(e["input_ids"]) for e in examples)
    pad = batch["attention_mask"] == 0
    assert (batch["labels"][pad] == IGNORE_INDEX).all()
