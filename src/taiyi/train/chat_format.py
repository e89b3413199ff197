"""Turn instruction records into (input_ids, labels) for supervised fine-tuning.

Why: the chat format is where fine-tunes most often go wrong (design §7): a template/EOS mismatch so the
model never stops, loss on the prompt, or truncation that cuts the answer away. This module encodes with
the tokenizer's own chat template (so training ids equal ``tokenizer.apply_chat_template`` and therefore
what every inference engine sends), puts the loss on every assistant turn *including* its closing stop
token (``<|im_end|>``), truncates prompts (oldest turns first, then the middle of the last prompt) and
never answers; records whose answer cannot fit are dropped and counted. The original Taiyi-1 ``<eod>``
layout is available as a second template, so the same code path serves both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from taiyi.files import DataError, read_jsonl

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")
ELLIPSIS = " … "

# Taiyi-1 (Qwen-7B, Firefly-style) layout: <eod> user <eod> assistant <eod> user <eod> ... where <eod> is
# Qwen's "<|endoftext|>". Written as a chat template so inference engines reproduce it exactly.
EOD_TOKEN = "<|endoftext|>"
EOD_TEMPLATE = (
    "{{- '" + EOD_TOKEN + "' }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '" + EOD_TOKEN + "' }}{% endgeneration %}"
    "{%- else %}{{- message['content'] + '" + EOD_TOKEN + "' }}"
    "{%- endif %}"
    "{%- endfor %}"
)
FORMATS = ("chatml", "eod")


@dataclass
class EncodeStats:
    """What happened to the records of one file: kept, prompt-truncated, dropped (with reasons)."""

    seen: int = 0
    kept: int = 0
    truncated: int = 0
    dropped: Counter = field(default_factory=Counter)
    dropped_ids: list = field(default_factory=list)
    tokens: int = 0
    supervised_tokens: int = 0

    def as_dict(self) -> dict:
        return {
            "seen": self.seen,
            "kept": self.kept,
            "truncated": self.truncated,
            "dropped": dict(self.dropped),
            "dropped_ids_sample": self.dropped_ids[:20],
            "tokens": self.tokens,
            "supervised_tokens": self.supervised_tokens,
        }


def prepare_tokenizer(tokenizer, fmt: str = "chatml"):
    """Set the template for ``fmt`` on the tokenizer (in place) and return it.

    ``chatml`` keeps the tokenizer's own template (it must have one); ``eod`` installs the Taiyi-1 layout.
    """
    if fmt not in FORMATS:
        raise ValueError(f"chat_format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "eod":
        if EOD_TOKEN not in tokenizer.get_vocab():
            raise ValueError(f"chat_format 'eod' needs the token {EOD_TOKEN} in the tokenizer vocabulary")
        tokenizer.chat_template = EOD_TEMPLATE
    elif not tokenizer.chat_template:
        raise ValueError("the tokenizer has no chat template; use a chat/base Qwen tokenizer or chat_format: eod")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = EOD_TOKEN if EOD_TOKEN in tokenizer.get_vocab() else tokenizer.eos_token
    return tokenizer


def stop_token_ids(tokenizer, fmt: str = "chatml") -> list[int]:
    """Token ids that end an assistant turn (the ids generation must stop on)."""
    vocab = tokenizer.get_vocab()
    names = ["<|im_end|>", EOD_TOKEN] if fmt == "chatml" else [EOD_TOKEN]
    ids = [vocab[n] for n in names if n in vocab]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids and fmt == "chatml":
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise ValueError(f"no stop token found in the tokenizer for chat_format {fmt!r}")
    return ids


def save_chat_assets(tokenizer, out_dir: str | Path, fmt: str = "chatml", base_generation_config=None) -> None:
    """Save tokenizer (with its template) and a generation_config.json whose eos ids are the stop ids."""
    from transformers import GenerationConfig

    stops = stop_token_ids(tokenizer, fmt)
    gen = GenerationConfig.from_dict(base_generation_config.to_dict()) if base_generation_config else GenerationConfig()
    gen.eos_token_id = stops
    gen.pad_token_id = tokenizer.pad_token_id
    tokenizer.save_pretrained(out_dir)
    gen.save_pretrained(out_dir)


def validate_messages(messages, where: str) -> list[dict]:
    """Check the ``messages`` field of one record; raise DataError naming ``where`` and the problem."""
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise DataError(f"{where}: messages[{i}] must be {{'role': system|user|assistant, 'content': str}}, got {m!r:.120}")
        out.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "assistant" for m in out):
        raise DataError(f"{where}: no assistant turn to learn from")
    if out[-1]["role"] != "assistant":
        out = out[: max(i for i, m in enumerate(out) if m["role"] == "assistant") + 1]
    return out


class ChatEncoder:
    """Encode conversations with a tokenizer's chat template into ids + labels (-100 outside answers)."""

    def __init__(self, tokenizer, max_length: int = 1024, fmt: str = "chatml"):
        self.tokenizer = prepare_tokenizer(tokenizer, fmt)
        self.max_length = int(max_length)
        self.fmt = fmt
        self.stops = set(stop_token_ids(tokenizer, fmt))

    def _ids(self, messages: Sequence[dict], generation_prompt: bool = False) -> list[int]:
        return list(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=True, return_dict=False, add_generation_prompt=generation_prompt
            )
        )

    def encode_full(self, messages: Sequence[dict]) -> tuple[list[int], list[int]]:
        """ids and labels for the whole conversation, no truncation."""
        ids = self._ids(messages)
        labels = [IGNORE_INDEX] * len(ids)
        for i, m in enumerate(messages):
            if m["role"] != "assistant":
                continue
            prefix = self._ids(messages[:i], generation_prompt=True) if i else []
            if ids[: len(prefix)] != prefix:
                raise ValueError(
                    "the chat template does not render a conversation's prefix as a token prefix; "
                    "labels cannot be placed reliably with this template"
                )
            start = len(prefix)
            end = start
            while end < len(ids) and ids[end] not in self.stops:
                end += 1
            end = min(end, len(ids) - 1)  # include the stop token itself
            labels[start : end + 1] = ids[start : end + 1]
        return ids, labels

    def encode(self, messages: Sequence[dict]) -> tuple[dict | None, str]:
        """Encode with truncation; returns (example or None, status) — status is ok|truncated|<drop reason>."""
        msgs = [dict(m) for m in messages]
        ids, labels = self.encode_full(msgs)
        if len(ids) <= self.max_length:
            return {"input_ids": ids, "labels": labels}, "ok"
        # 1. drop the oldest exchanges (everything up to and including the first assistant turn), keep system
        head = [m for m in msgs if m["role"] == "system"][:1] if msgs[0]["role"] == "system" else []
        body = msgs[len(head) :]
        while sum(m["role"] == "assistant" for m in body) > 1 and len(ids) > self.max_length:
            first_answer = next(i for i, m in enumerate(body) if m["role"] == "assistant")
            body = body[first_answer + 1 :]
            ids, labels = self.encode_full(head + body)
        if len(ids) <= self.max_length:
            return {"input_ids": ids, "labels": labels}, "truncated"
        # 2. shorten the longest prompt message (not an answer) in the middle, as little as needed
        msgs = head + body
        cands = [i for i, m in enumerate(msgs) if m["role"] != "assistant"]
        if not cands:
            return None, "answer_too_long"
        k = max(cands, key=lambda i: len(msgs[i]["content"]))
        text = msgs[k]["content"]

        def with_kept(n: int):
            cut = text if n >= len(text) else text[: (n + 1) // 2] + ELLIPSIS + text[len(text) - n // 2 :]
            trial = [dict(m) for m in msgs]
            trial[k]["content"] = cut
            return self.encode_full(trial)

        best = with_kept(0)
        if len(best[0]) > self.max_length:
            return None, "answer_too_long"
        lo, hi = 0, len(text)
        while lo < hi:  # largest number of kept characters that fits
            mid = (lo + hi + 1) // 2
            enc = with_kept(mid)
            if len(enc[0]) <= self.max_length:
                lo, best = mid, enc
            else:
                hi = mid - 1
        return {"input_ids": best[0], "labels": best[1]}, "truncated"


def encode_file(
    path: str | Path, encoder: ChatEncoder, *, stats: EncodeStats | None = None, progress: bool = True
) -> tuple[list[dict], EncodeStats]:
    """Read an instructions JSONL file and encode every record; bad records raise DataError (file + id)."""
    from tqdm.auto import tqdm

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: instructions file not found")
    stats = stats or EncodeStats()
    examples: list[dict] = []
    lines = sum(1 for _ in open(path, "rb"))
    for n, rec in enumerate(tqdm(read_jsonl(path), total=lines, desc=f"encode {path.name}", disable=not progress), 1):
        rid = rec.get("id", f"line {n}")
        msgs = validate_messages(rec.get("messages"), f"{path}: record {rid}")
        stats.seen += 1
        ex, status = encoder.encode(msgs)
        if ex is None:
            stats.dropped[status] += 1
            stats.dropped_ids.append(rid)
            continue
        if not any(t != IGNORE_INDEX for t in ex["labels"]):
            stats.dropped["no_supervised_tokens"] += 1
            stats.dropped_ids.append(rid)
            continue
        stats.kept += 1
        stats.truncated += status == "truncated"
        stats.tokens += len(ex["input_ids"])
        stats.supervised_tokens += sum(t != IGNORE_INDEX for t in ex["labels"])
        examples.append(ex)
    return examples, stats


def iter_texts(paths: Iterable[str | Path]) -> Iterable[str]:
    """All message contents of instruction files (to train a demo tokenizer on)."""
    for p in paths:
        for rec in read_jsonl(p):
            for m in rec.get("messages") or []:
                if isinstance(m, dict) and isinstance(m.get("content"), str):
                    yield m["content"]
