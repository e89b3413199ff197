from __future__ import annotations

import json

import pytest

from taiyi.infer.engine import GenerationParams

CONVS = [
    [{"role": "user", "content": "What is aspirin?"}],
    [{"role": "system", "content": "You are a doctor."}, {"role": "user", "content": "阿司匹林可以降低心肌梗死的风险吗？请详细说明。"}],
    [{"role": "user", "content": "hi"}],
    [{"role": "user", "content": "Extract the disease entities: asthma treated with salbutamol in children and adults"}],
    [{"role": "user", "content": "问题：糖尿病的症状有哪些？"}],
]


def test_batched_equals_one_at_a_time(engine, greedy):
    batched = engine.generate(CONVS, greedy)  # batch_size 4: two length-sorted batches, left-padded
    single = [engine.generate([c], greedy)[0] for c in CONVS]
    assert batched == single
    assert len(set(batched)) > 1, "outputs should differ between prompts (else the test proves nothing)"
    full = engine.generate_full(CONVS[:1], greedy)[0]
    assert full.text == batched[0] and full.completion_tokens == 12 and full.finish_reason == "length"
    assert full.prompt_tokens == engine.count_tokens(CONVS[0])


def test_stop_ids_cover_chatml(engine):
    vocab = engine.tokenizer.get_vocab()
    assert {vocab["<|im_end|>"], vocab["<|endoftext|>"]} <= set(engine.stop_ids)


def test_stream_joins_to_the_generated_text(engine, greedy):
    deltas = list(engine.stream(CONVS[1], greedy))
    assert len(deltas) > 1
    assert "".join(deltas) == engine.generate([CONVS[1]], greedy)[0]
    # breaking off early releases the model for the next call
    gen = engine.stream(CONVS[0], greedy)
    next(gen)
    gen.close()
    assert engine.generate([CONVS[0]], greedy)


def test_stop_strings_cut_the_answer(engine, greedy):
    text = engine.generate([CONVS[0]], greedy)[0]
    stop = text[3:5]
    cut = engine.generate([CONVS[0]], greedy.replace(stop=(stop,)))[0]
    assert cut == text[: text.find(stop)]
    assert "".join(engine.stream(CONVS[0], greedy.replace(stop=(stop,)))) == cut


def test_loglikelihood_matches_a_manual_forward(engine):
    import torch

    msgs = CONVS[0]
    scores = engine.loglikelihood([(msgs, "Aspirin is a drug."), (CONVS[1], "是的"), (msgs, "yes")])
    assert len(scores) == 3 and all(s < 0 for s in scores)
    p = engine.encode(msgs)
    c = engine.tokenizer("yes", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = engine.model(torch.tensor([p + c])).logits[0].log_softmax(-1)
    manual = sum(float(logits[len(p) - 1 + k, t]) for k, t in enumerate(c))
    assert scores[2] == pytest.approx(manual, abs=1e-4)


def test_prompt_longer_than_context_is_a_clear_error(engine):
    long = [{"role": "user", "content": "aspirin " * (engine.max_context + 10)}]
    with pytest.raises(ValueError, match="context"):
        engine.generate([long], GenerationParams.greedy(4))


def test_adapter_loading(tiny_model_dir, tmp_path, greedy):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from taiyi.infer.engine import load_engine

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"]))
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:  # B starts at zero; make the adapter change the output
            torch.nn.init.normal_(p, std=0.5)
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)

    plain = load_engine(str(tiny_model_dir)).generate(CONVS[:2], greedy)
    merged = load_engine(str(tiny_model_dir), adapter=str(adapter))
    unmerged = load_engine(str(tiny_model_dir), adapter=str(adapter), merge_adapter=False)
    with_adapter = merged.generate(CONVS[:2], greedy)
    assert with_adapter != plain
    assert unmerged.generate(CONVS[:2], greedy) == with_adapter
    # an adapter directory alone: its base comes from adapter_config.json
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert load_engine(str(adapter)).generate(CONVS[:2], greedy) == with_adapter


def test_engine_follows_the_chat_family_registry(tmp_path):
    """Stop ids and the prompt come from the family (Qwen3 here): non-thinking prompt by default, thinking on
    request, reasoning stripped from answers."""
    from taiyi.infer.engine import load_engine
    from taiyi.train.tiny_model import build_tiny_model

    d = build_tiny_model(tmp_path / "qwen3", ["q one a one"] * 20, family="qwen3", vocab_size=400)
    msgs = [{"role": "user", "content": "q one"}]
    e = load_engine(str(d))
    tok = e.tokenizer
    assert e.family.name == "qwen3" and e.stop_ids[0] == tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.decode(e.encode(msgs)).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    thinking = load_engine(str(d), thinking=True)
    assert thinking.tokenizer.decode(thinking.encode(msgs)).endswith("<|im_start|>assistant\n")
    ids = tok("<think>\nlet me see\n</think>\n\nyes", add_special_tokens=False)["input_ids"]
    done = e._finish(ids + [e.stop_ids[0]], GenerationParams.greedy(8), 5, 64)
    assert done.text == "yes" and done.finish_reason == "stop" and done.completion_tokens == len(ids) + 1
