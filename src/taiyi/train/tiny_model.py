"""Build a tiny random-initialised chat model with a locally trained tokenizer, offline, for any chat family.

Why: tests and ``make demo`` must run with no network and no GPU. The tokenizer uses Qwen2's exact
pre-tokenizer regex (else ``AutoTokenizer`` -> ``Qwen2Tokenizer`` re-tokenises differently, see
stack-notes §2), ChatML special tokens, and a ChatML template with ``{% generation %}`` markers so
assistant masks work. The result is a normal model directory that ``AutoModelForCausalLM`` /
``AutoTokenizer`` (and our trainer, engine and server) load like any hub Qwen model. ``family`` builds the same
for another registered chat family (Llama-3, GLM-4, Gemma, Mistral, Qwen3): its special tokens, its reference
template, and a matching architecture, so conformance and end-to-end tests cover every family with no download.
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


# per family: tokenizer eos, pad, and the transformers architecture of the tiny model
FAMILY_TOKENS = {
    "qwen2.5": ("<|im_end|>", "<|endoftext|>", "qwen2"),
    "qwen3": ("<|im_end|>", "<|endoftext|>", "qwen3"),
    "llama3": ("<|eot_id|>", "<|end_of_text|>", "llama"),
    "glm4": ("<|endoftext|>", "<|endoftext|>", "glm4"),
    "gemma": ("<eos>", "<pad>", "llama"),
    "mistral": ("</s>", "<unk>", "mistral"),
}


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, family: str | None = None):
    """A byte-level BPE tokenizer with Qwen2's pre-tokenizer as a HF fast tokenizer: ChatML specials and a
    ChatML template with ``{% generation %}`` markers by default, or ``family``'s control tokens and template."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    fam = None
    if family is not None:
        from taiyi.train.templates import get_family

        fam = get_family(family)
        if fam.name not in FAMILY_TOKENS:
            raise ValueError(f"no tiny-model recipe for chat family {fam.name!r}; allowed: {sorted(FAMILY_TOKENS)}")
    specials = list(dict.fromkeys([*fam.special_tokens, *fam.stops])) if fam else SPECIAL_TOKENS
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
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) + _FALLBACK_LINES * 3, trainer=trainer)
    if fam is None:
        eos, pad, bos, extra, template = "<|im_end|>", "<|endoftext|>", None, ["<|im_start|>"], CHATML_TEMPLATE
    else:
        eos, pad, _ = FAMILY_TOKENS[fam.name]
        bos, template = fam.bos, fam.template
        plain = set(fam.thinking or ())  # like Qwen3's: <think> is an added token, but not a special one
        extra = [t for t in specials if t not in (eos, pad, bos) and t not in plain]
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=eos,
        pad_token=pad,
        bos_token=bos,
        unk_token=None,
        additional_special_tokens=extra,
    )
    if fam is not None and fam.thinking:
        from tokenizers import AddedToken

        hf.add_tokens([AddedToken(t, special=False, normalized=False) for t in fam.thinking])
    hf.chat_template = template
    hf.padding_side = "right"
    return hf


def _config(arch: str, tok, hidden, inter, layers, heads, kv, max_pos, eos, pad, bos):
    from transformers import AutoConfig

    kw = dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
              num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=max_pos,
              tie_word_embeddings=True, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad, use_cache=True)
    if arch in ("qwen3", "glm4"):
        kw["head_dim"] = hidden // heads
    return AutoConfig.for_model(arch, **kw)


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    *,
    size: str = "tiny",
    vocab_size: int = 4096,
    seed: int = 0,
    max_position_embeddings: int = 2048,
    family: str | None = None,
) -> Path:
    """Write a random-initialised chat model + tokenizer to ``out_dir`` (Qwen2/ChatML unless ``family``)."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    from taiyi.train.templates import get_family, stop_token_ids

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts if texts is not None else _FALLBACK_LINES * 50, vocab_size=vocab_size, family=family)
    fam = get_family(family or "qwen2.5")
    arch = FAMILY_TOKENS[fam.name][2] if family else "qwen2"
    hidden, inter, layers, heads, kv = SIZES[size]
    stops = stop_token_ids(tok, fam)
    pad = tok.pad_token_id
    bos = tok.bos_token_id
    config = _config(arch, tok, hidden, inter, layers, heads, kv, max_position_embeddings, stops[0], pad, bos)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        eos_token_id=stops, pad_token_id=pad, bos_token_id=bos, do_sample=False, max_new_tokens=64
    )
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
