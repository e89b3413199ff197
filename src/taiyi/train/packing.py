"""Batch encoded examples: padding-free packing (default) or padded, length-grouped batches.

Why: instruction data is long-tailed (many short classification prompts, a few long abstracts), so padded
batches waste most of their compute on pad tokens. Packing concatenates a batch into one row with
position ids restarting at 0 for every example; transformers' attention then builds a block-diagonal mask
from the position ids (sdpa/eager/flash-attn), so no example attends to another. Two conditions make that
true, and this module owns both: no attention_mask in the batch, and ``use_cache=False`` on the model
(with the cache on, transformers ignores the packed layout — stack-notes §3).
"""

from __future__ import annotations

IGNORE_INDEX = -100


def make_collator(tokenizer, packing: bool = True, *, flash_attn_kwargs: bool = False):
    """The data collator for training: flattened (padding-free) when ``packing``, else pad-to-longest."""
    if packing:
        from transformers import DataCollatorWithFlattening

        return DataCollatorWithFlattening(
            return_position_ids=True, separator_id=IGNORE_INDEX, return_flash_attn_kwargs=flash_attn_kwargs
        )
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=IGNORE_INDEX, return_tensors="pt")


def sampling_strategy(packing: bool) -> str:
    """Trainer sampler: random order when packing (padding costs nothing), length-grouped otherwise."""
    return "random" if packing else "group_by_length"


def make_packing_safe(model) -> None:
    """Turn off the KV cache so packed position ids are honoured (else examples attend to each other)."""
    for cfg in {id(c): c for c in (getattr(model, "config", None), getattr(getattr(model, "base_model", None), "config", None)) if c}.values():
        cfg.use_cache = False


def useful_tokens(batch) -> int:
    """Non-pad tokens in a collated batch (packed rows have no padding)."""
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum())
    return int(batch["input_ids"].numel())


def batch_tokens(batch) -> int:
    """All token positions the model computes on, pad included."""
    return int(batch["input_ids"].numel())
