"""Build a tiny random-initialised Qwen2 chat model with a locally trained tokenizer, offline.

Why: tests and ``make demo`` must run with no network and no GPU. The tokenizer uses Qwen2's exact
pre-tokenizer regex (else ``AutoTokenizer`` -> ``Qwen2Tokenizer`` re-tokenises differently, see
stack-notes §2), ChatML special tokens, and a ChatML template with ``{% generation %}`` markers so
assistant masks work. The result is a normal model directory that ``AutoModelForCausalLM`` /
``AutoTokenizer`` (and our trainer, engine and server) load like any hub Qwen model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

SIZES = {
    # name: hidden, intermediate, layers, heads, kv_heads
    "tiny": (64, 128, 2, 4, 2),
    "small": (256, 512, 4, 4, 2),
    "demo": (192, 384, 3, 4, 2),
}

_FALLBACK_LINES = [
    "Aspirin reduces the risk of myocardial infarction in patients with coronary disease.",
    "阿司匹林可以降低冠心病患者发生心肌梗死的风险。",
    "Extract all disease entities from the text below and list them one per line.",
    "请从下面的文本中抽取所有疾病实体，每行一个。",
    "Question: Does metformin lower blood glucose? Answer: yes",
    "问题：高血压患者应该注意什么？回答：低盐饮食，规律服药。",
    "0123456789 %()[]{}:;,.!?-+/=*<>\"' ，。：；！？（）【】“”、",
]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """A byte-level BPE tokenizer with Qwen2's pre-tokenizer and ChatML specials, as a HF fast tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) + _FALLBACK_LINES * 3, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    hf.chat_template = CHATML_TEMPLATE
    hf.padding_side = "right"
    return hf


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    *,
    size: str = "tiny",
    vocab_size: int = 4096,
    seed: int = 0,
    max_position_embeddings: int = 2048,
) -> Path:
    """Write a random-initialised Qwen2 chat model + tokenizer to ``out_dir``; returns the path."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts if texts is not None else _FALLBACK_LINES * 50, vocab_size=vocab_size)
    hidden, inter, layers, heads, kv = SIZES[size]
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=im_end,
        pad_token_id=pad,
        use_cache=True,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[im_end, pad], pad_token_id=pad, do_sample=False, max_new_tokens=64
    )
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
