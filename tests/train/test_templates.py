"""Chat-family conformance: for every registered family, on a locally built tokenizer carrying its control tokens
and its documented template — ids equal ``apply_chat_template``, labels exactly on each answer + its end-of-turn
token (multi-turn too, never running into the next user turn), packed == unpacked logits, generation stops at the
family's end-of-turn token, and a merged model keeps the template and generation config."""

from __future__ import annotations

import pytest
import torch

from taiyi.train.chat_format import IGNORE_INDEX, ChatEncoder

FAMILIES = ["qwen2.5", "qwen3", "llama3", "glm4", "gemma", "mistral"]
DIALOGUE = [
    {"role": "system", "content": "sys prompt"},
    {"role": "user", "content": "q one"},
    {"role": "assistant", "content": "a one"},
    {"role": "user", "content": "q two"},
    {"role": "assistant", "content": "a two"},
]
# The family's documented layout of DIALOGUE, written out by hand (not produced by our code).
RENDERED = {
    "qwen2.5": "<|im_start|>system\nsys prompt<|im_end|>\n<|im_start|>user\nq one<|im_end|>\n<|im_start|>assistant\n"
               "a one<|im_end|>\n<|im_start|>user\nq two<|im_end|>\n<|im_start|>assistant\na two<|im_end|>\n",
    "qwen3": "<|im_start|>system\nsys prompt<|im_end|>\n<|im_start|>user\nq one<|im_end|>\n<|im_start|>assistant\n"
             "a one<|im_end|>\n<|im_start|>user\nq two<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\na two<|im_end|>\n",
    "llama3": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys prompt<|eot_id|><|start_header_id|>user"
              "<|end_header_id|>\n\nq one<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\na one<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nq two<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\na two<|eot_id|>",
    "glm4": "[gMASK]<sop><|system|>\nsys prompt<|user|>\nq one<|assistant|>\na one<|user|>\nq two<|assistant|>\na two",
    "gemma": "<bos><start_of_turn>user\nsys prompt\n\nq one<end_of_turn>\n<start_of_turn>model\na one<end_of_turn>\n"
             "<start_of_turn>user\nq two<end_of_turn>\n<start_of_turn>model\na two<end_of_turn>\n",
    "mistral": "<s>[INST] sys prompt\n\nq one[/INST] a one</s>[INST] q two[/INST] a two</s>",
}
# What the model must generate for each answer: from the end of the generation prompt through the end-of-turn token.
SUPERVISED = {
    "qwen2.5": ["a one<|im_end|>", "a two<|im_end|>"],
    "qwen3": ["a one<|im_end|>", "a two<|im_end|>"],
    "llama3": ["a one<|eot_id|>", "a two<|eot_id|>"],
    "glm4": ["\na one<|user|>", "\na two<|user|>"],  # the next turn's <|user|> ends an answer; appended for the last
    "gemma": ["a one<end_of_turn>", "a two<end_of_turn>"],
    "mistral": [" a one</s>", " a two</s>"],
}
EOT = {"qwen2.5": "<|im_end|>", "qwen3": "<|im_end|>", "llama3": "<|eot_id|>", "glm4": "<|user|>",
       "gemma": "<end_of_turn>", "mistral": "</s>"}
TEXTS = ["q one a one q two a two sys prompt hello patient asthma"] * 40


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory):
    from taiyi.train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("families")
    return {f: build_tiny_model(root / f, TEXTS, family=f, vocab_size=400) for f in FAMILIES}


def _tok(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _spans(ids, labels):
    spans, cur = [], []
    for t, lab in zip(ids + [None], labels + [IGNORE_INDEX]):
        if lab != IGNORE_INDEX:
            assert lab == t
            cur.append(t)
        elif cur:
            spans.append(cur)
            cur = []
    return spans


@pytest.mark.parametrize("family", FAMILIES)
def test_ids_equal_the_template_and_labels_cover_exactly_each_answer(family, family_dirs):
    tok = _tok(family_dirs[family])
    enc = ChatEncoder(tok, max_length=1024)
    assert enc.family.name == family  # detected from the template
    ids, labels = enc.encode_full(DIALOGUE)
    assert tok.decode(ids) == RENDERED[family] + ("<|user|>" if family == "glm4" else "")
    ref = tok.apply_chat_template(enc.family.prepare_messages(DIALOGUE), tokenize=True, return_dict=False,
                                  **enc.family.render_kwargs())
    assert ids[: len(ref)] == list(ref) and len(ids) - len(ref) == (1 if family == "glm4" else 0)
    assert [tok.decode(s) for s in _spans(ids, labels)] == SUPERVISED[family]
    eot = tok.convert_tokens_to_ids(EOT[family])
    assert all(s[-1] == eot for s in _spans(ids, labels))  # every answer's end-of-turn token is trained, the last too
    single = DIALOGUE[1:3]
    ids1, labels1 = enc.encode_full(single)
    assert [tok.decode(s) for s in _spans(ids1, labels1)] == SUPERVISED[family][:1]


def test_gemma_answer_does_not_run_into_the_next_user_turn(family_dirs):
    """The leak we saw: 'a one<end_of_turn>\\n<start_of_turn>user\\nq two…' supervised as one answer."""
    tok = _tok(family_dirs["gemma"])
    ids, labels = ChatEncoder(tok, max_length=1024).encode_full(DIALOGUE[1:])
    supervised = [tok.decode(s) for s in _spans(ids, labels)]
    assert supervised == ["a one<end_of_turn>", "a two<end_of_turn>"]
    assert all("user" not in s for s in supervised)


def test_qwen3_thinking_modes(family_dirs):
    tok = _tok(family_dirs["qwen3"])
    reasoned = [{"role": "user", "content": "q one"},
                {"role": "assistant", "content": "<think>\nstep by step\n</think>\n\na one"}]
    plain = ChatEncoder(tok, max_length=1024)  # default: trained without thinking, empty block is prompt
    ids, labels = plain.encode_full(reasoned)
    assert "step by step" not in tok.decode(ids)
    assert [tok.decode(s) for s in _spans(ids, labels)] == ["a one<|im_end|>"]
    prompt = tok.apply_chat_template(reasoned[:1], tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert tok.decode(ids).startswith(prompt) and prompt.endswith("<think>\n\n</think>\n\n")
    think = ChatEncoder(tok, max_length=1024, thinking=True)
    ids, labels = think.encode_full(reasoned)
    assert [tok.decode(s) for s in _spans(ids, labels)] == ["<think>\nstep by step\n</think>\n\na one<|im_end|>"]
    fam = plain.family
    assert fam.strip_thinking("<think>\nx\n</think>\n\nDisease: asthma") == "Disease: asthma"
    assert fam.strip_thinking("x\n</think>\n\nyes") == "yes" and fam.strip_thinking("<think> never closed") == ""


@pytest.mark.parametrize("family", FAMILIES)
def test_packed_and_unpacked_logits_agree(family, family_dirs):
    from transformers import AutoModelForCausalLM

    from taiyi.train.packing import make_collator, make_packing_safe

    tok = _tok(family_dirs[family])
    model = AutoModelForCausalLM.from_pretrained(family_dirs[family]).eval()
    make_packing_safe(model)
    enc = ChatEncoder(tok, max_length=1024)
    exs = [dict(zip(("input_ids", "labels"), enc.encode_full(m))) for m in (DIALOGUE, DIALOGUE[1:3])]
    batch = make_collator(tok, packing=True)(exs)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        alone = torch.cat([model(input_ids=torch.tensor([e["input_ids"]])).logits[0] for e in exs])
    torch.testing.assert_close(packed, alone, rtol=1e-4, atol=1e-4)


def _overfit(model, examples, steps=60, lr=1e-2):
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        for ex in examples:
            loss = model(input_ids=torch.tensor([ex["input_ids"]]), labels=torch.tensor([ex["labels"]])).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    return float(loss)


@pytest.mark.parametrize("family", FAMILIES)
def test_trained_model_stops_at_eot_and_merged_model_keeps_template(family, family_dirs, tmp_path):
    """Train the answer + end-of-turn token, save with our chat assets, merge a LoRA adapter, serve through the
    engine: the answer comes back whole and generation stopped on the family's end-of-turn token."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from taiyi.infer.engine import GenerationParams, load_engine
    from taiyi.train.chat_format import save_chat_assets, stop_token_ids
    from taiyi.train.merge import merge_adapter

    torch.manual_seed(0)
    tok = _tok(family_dirs[family])
    enc = ChatEncoder(tok, max_length=1024)
    model = AutoModelForCausalLM.from_pretrained(family_dirs[family])
    conv = [{"role": "user", "content": "q one"}, {"role": "assistant", "content": "a one"}]
    assert _overfit(model, [dict(zip(("input_ids", "labels"), enc.encode_full(conv)))]) < 0.05
    base = tmp_path / "base"
    model.save_pretrained(base)
    save_chat_assets(tok, base, enc.family)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))  # B=0: identity
    peft_model.save_pretrained(tmp_path / "adapter")
    save_chat_assets(tok, tmp_path / "adapter", enc.family, model.generation_config)
    merged = merge_adapter(str(base), tmp_path / "adapter", tmp_path / "merged", dtype="float32")
    again = AutoTokenizer.from_pretrained(merged)
    assert again.chat_template == tok.chat_template
    stops = stop_token_ids(tok, enc.family)
    assert GenerationConfig.from_pretrained(merged).eos_token_id == stops
    assert stops[0] == tok.convert_tokens_to_ids(EOT[family])
    engine = load_engine(str(merged))
    out = engine.generate_full([conv[:1]], GenerationParams.greedy(max_new_tokens=20))[0]
    assert out.finish_reason == "stop" and out.completion_tokens < 20
    assert out.text.strip() == "a one"


def test_default_system_prompt_detection_and_fallbacks(family_dirs):
    from taiyi.train.templates import QWEN25_SYSTEM, detect_family, get_family, resolve_family

    tok = _tok(family_dirs["qwen2.5"])
    enc = ChatEncoder(tok)
    ids, labels = enc.encode_full(DIALOGUE[1:3])  # no system message: the family's template adds its own
    assert tok.decode(ids).startswith(f"<|im_start|>system\n{QWEN25_SYSTEM}<|im_end|>\n<|im_start|>user\nq one")
    assert [tok.decode(s) for s in _spans(ids, labels)] == ["a one<|im_end|>"]
    assert get_family("chatml") is get_family("qwen2.5") and get_family("Gemma3").name == "gemma"
    llama = _tok(family_dirs["llama3"])
    llama.chat_template = None  # a base model without a template: its vocabulary tells the family
    assert detect_family(llama).name == "llama3"
    enc = ChatEncoder(llama, fmt="llama3")  # the reference template is installed
    assert [llama.decode(s) for s in _spans(*enc.encode_full(DIALOGUE[1:3]))] == ["a one<|eot_id|>"]
    odd = _tok(family_dirs["gemma"])
    odd.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}"
    assert resolve_family(odd).name == "generic"  # unknown layout: the tokenizer's eos ends a turn
    # this template has no generation prompt, so the role header is part of what the model must generate
    assert [odd.decode(s) for s in _spans(*ChatEncoder(odd).encode_full(DIALOGUE[1:3]))] == ["assistant: a one<eos>"]
    with pytest.raises(ValueError, match="end-of-turn token <end_of_turn> of chat format 'gemma' does not follow"):
        ChatEncoder(odd, fmt="gemma").encode_full(DIALOGUE[1:3])


def test_reasoning_is_removed_from_training_answers_also_when_only_closed(family_dirs):
    tok = _tok(family_dirs["qwen3"])
    enc = ChatEncoder(tok, max_length=1024)
    for answer in ("<think>\nplan\n</think>\n\na one", "plan\n</think>\n\na one"):
        ids, labels = enc.encode_full([{"role": "user", "content": "q one"}, {"role": "assistant", "content": answer}])
        assert "plan" not in tok.decode(ids) and [tok.decode(s) for s in _spans(ids, labels)] == ["a one<|im_end|>"]


def test_an_answer_repeated_in_the_user_turn_is_not_taken_for_the_answer(family_dirs):
    """Qwen3 renders earlier turns differently from the generation prompt, so their answers are located by
    search — which must start after the user's turn, even when the user's text ends with the answer."""
    tok = _tok(family_dirs["qwen3"])
    conv = [{"role": "user", "content": "say a one"}, {"role": "assistant", "content": "a one"},
            {"role": "user", "content": "q two"}, {"role": "assistant", "content": "a two"}]
    ids, labels = ChatEncoder(tok, max_length=1024).encode_full(conv)
    spans = _spans(ids, labels)
    assert [tok.decode(s) for s in spans] == ["a one<|im_end|>", "a two<|im_end|>"]
    first = next(i for i, lab in enumerate(labels) if lab != IGNORE_INDEX)
    assert tok.decode(ids[:first]).endswith("<|im_start|>user\nsay a one<|im_end|>\n<|im_start|>assistant\n")


VARIED = [
    DIALOGUE,
    [{"role": "user", "content": "患者头痛三天，伴恶心。 请问可能是什么病？"}, {"role": "assistant", "content": " 偏头痛 或 颅内压增高。"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": "q\n\n"}, {"role": "assistant", "content": "\na one\n"}],
    [{"role": "user", "content": "assistant"}, {"role": "assistant", "content": "assistant"},
     {"role": "user", "content": "q two a two"}, {"role": "assistant", "content": "a two q two"}],
]


@pytest.mark.parametrize("family", FAMILIES)
def test_anchored_prompt_check_equals_tokenizing_the_whole_prompt(family, family_dirs):
    """The encoder tokenizes only the part of each prompt after its last special token; the result must be what
    tokenizing the whole prompt through transformers gives (the slow path, kept for tokenizers without anchors)."""
    tok = _tok(family_dirs[family])
    fast = ChatEncoder(tok, max_length=1024)
    slow = ChatEncoder(tok, max_length=1024)
    slow._anchors, slow._backend = frozenset(), None
    assert fast._anchors, "the family's control tokens are special tokens of its tokenizer"
    for messages in VARIED:
        assert fast.encode_full(messages) == slow.encode_full(messages)
        assert fast.encode(messages) == slow.encode(messages)
