"""Quality filter for built instructions: empty, over-long and broken records are dropped with a reason.

Why: an empty answer teaches nothing, an over-long one gets its answer truncated away at training time (loss
on nothing), and an answer that does not parse back through its own codec would train the model on text the
evaluator cannot read. Each drop is counted per reason so the mix report shows what was lost.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import orjson

from taiyi.instructions.tasks.base import Instruction, ParseError
from taiyi.instructions.tasks.registry import get_task

REASONS = ("empty", "too_long", "broken")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# ChatML wraps every message in "<|im_start|>role\n ... <|im_end|>\n": about 5 tokens of overhead.
MESSAGE_OVERHEAD = 5


def estimate_tokens(text: str) -> int:
    """A fast, deliberately generous token estimate: one token per CJK character, one per 3.5 other chars.

    Qwen-style BPE vocabularies average about 1.3-1.5 Chinese characters and about 4 English characters per
    token, so this over-counts a little: a record that passes the estimate fits the real budget too.
    """
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 3.5)


class TokenCounter:
    """Counts the tokens of a conversation, with the target tokenizer when given, else ``estimate_tokens``."""

    def __init__(self, tokenizer: str | None = None):
        self.name = tokenizer or "estimate"
        self._tok = _load_tokenizer(tokenizer) if tokenizer else None

    def count_text(self, text: str) -> int:
        if self._tok is None:
            return estimate_tokens(text)
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def count(self, messages: list[dict]) -> int:
        return sum(self.count_text(str(m.get("content", ""))) + MESSAGE_OVERHEAD for m in messages)


@functools.cache
def _load_tokenizer(name: str):
    from transformers import AutoTokenizer  # heavy: only when a tokenizer is asked for

    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as exc:  # offline hub id, bad path...
        raise ValueError(f"cannot load tokenizer {name!r}: {exc}") from exc


def _canonical(obj: Any) -> bytes:
    """Targets compared as JSON (tuples and lists alike)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def check(inst: Instruction, counter: TokenCounter, max_tokens: int) -> str | None:
    """The reason to drop ``inst`` (one of REASONS), or None when it is fit to train on."""
    msgs = inst.messages
    if not msgs or not any(m.get("role") == "assistant" for m in msgs):
        return "empty"
    if any(not str(m.get("content", "")).strip() for m in msgs):
        return "empty"
    if counter.count(msgs) > max_tokens:
        return "too_long"
    if inst.target is not None and broken(inst):
        return "broken"
    return None


def broken(inst: Instruction) -> bool:
    """True when the (single) answer does not parse back to the instruction's target through its codec."""
    roles = [m["role"] for m in inst.messages if m["role"] != "system"]
    if roles != ["user", "assistant"]:  # multi-turn: the target is not one answer's structure
        return False
    codec = get_task(inst.task)
    try:
        parsed = codec.parse(inst.messages[-1]["content"], inst.meta)
    except ParseError:
        return True
    return _canonical(parsed) != _canonical(inst.target)
