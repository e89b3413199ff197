"""Turn instruction records into (input_ids, labels) for supervised fine-tuning.

Why: the chat format is where fine-tunes most often go wrong (design §7): a template/EOS mismatch so the
model never stops, loss on the prompt or on the next user turn, or truncation that cuts the answer away. This
module renders with the tokenizer's own chat template (so training ids equal ``apply_chat_template`` and
therefore what every inference engine sends) and asks the family registry (``templates``) what the template
does not say: each answer is supervised from where generation starts (after the generation prompt) up to and
including the family's end-of-turn token, and not one token further. Prompts are truncated (oldest turns
first, then the middle of the longest prompt), answers never; records whose answer cannot fit are dropped
and counted. The original Taiyi-1 ``<eod>`` layout is one more family, so the same code path serves both.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from taiyi.files import DataError, read_jsonl
from taiyi.train.templates import (  # noqa: F401  (re-exported: the encoder's vocabulary)
    EOD_TEMPLATE,
    EOD_TOKEN,
    ChatFamily,
    chat_formats,
    prepare_tokenizer,
    render,
    stop_token_ids,
)

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")
ELLIPSIS = " … "


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


def save_chat_assets(tokenizer, out_dir: str | Path, fmt: str | ChatFamily = "auto", base_generation_config=None) -> None:
    """Save tokenizer (with its template) and a generation_config.json whose eos ids are the family's stop ids."""
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


def _anchor_ids(tokenizer) -> frozenset[int]:
    """Ids of the special tokens a fast tokenizer splits its input at with no context rule (no lstrip, rstrip or
    single-word matching): tokenization never crosses them, so they anchor ``ChatEncoder._prompt_length``."""
    out = set()
    for i, t in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(t, "special", False) and not (t.lstrip or t.rstrip or t.single_word):
            out.add(int(i))
    return frozenset(out)


class ChatEncoder:
    """Encode conversations with a tokenizer's chat template into ids + labels (-100 outside answers).

    ``fmt``: ``auto`` (the family detected from the template) or a registered family/alias; ``thinking``
    trains reasoning blocks (families that have them), else they are removed and the template's non-thinking
    prompt is used, exactly as inference renders it.
    """

    def __init__(self, tokenizer, max_length: int = 1024, fmt: str = "auto", thinking: bool = False):
        self.family = prepare_tokenizer(tokenizer, fmt)
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.fmt = self.family.name
        self.thinking = bool(thinking)
        self.eot_id = tokenizer.convert_tokens_to_ids(self.family.eot)
        self._backend = getattr(tokenizer, "_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
        self._anchors = _anchor_ids(tokenizer) if self._backend is not None else frozenset()

    def _render(self, messages: Sequence[dict], generation_prompt: bool = False) -> str:
        return render(self.tokenizer, self.family, list(messages), generation_prompt=generation_prompt,
                      thinking=self.thinking)

    def _tok(self, text: str) -> list[int]:
        return self._ids_offsets(text)[0]

    def _ids_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]] | None]:
        """ids (and character offsets, fast tokenizers) of ``text`` without special tokens added.

        The Rust tokenizer is called directly when it is in the state ``tokenizer(text)`` would put it in (no
        truncation, no padding, the same special-token splitting): the same ids without transformers' per-call
        overhead (a third of the encoding time on short records).
        """
        bk = self._backend
        if bk is not None and bk.truncation is None and bk.padding is None and \
                bk.encode_special_tokens == bool(getattr(self.tokenizer, "split_special_tokens", False)):
            enc = bk.encode(text, add_special_tokens=False)
            return enc.ids, enc.offsets
        fast = getattr(self.tokenizer, "is_fast", False)
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=fast)
        return list(enc["input_ids"]), (list(enc["offset_mapping"]) if fast else None)

    def _prompt_length(self, text: str, start: int, ids: list[int], offsets, ends) -> int | None:
        """How many tokens ``text[:start]`` has when tokenized alone, if that is a prefix of ``ids``, else None.

        Why not just tokenize ``text[:start]``: that doubles the encoding time. A fast tokenizer cuts its input at
        special tokens before anything else and tokenizes the pieces independently, so ``text[:start]`` tokenizes
        as ``ids`` up to the last special token before ``start`` plus the tokens of the rest; only that rest
        (usually the role name, e.g. ``assistant\\n``) is tokenized here. Without such an anchor the whole prefix is.
        """
        j = None
        if offsets is not None and self._anchors:
            k = bisect.bisect_right(ends, start)  # tokens ending at or before start (ends never decrease)
            for i in range(k - 1, -1, -1):
                if ids[i] in self._anchors:
                    j = i
                    break
        if j is None:
            lo = self._tok(text[:start])
            return len(lo) if ids[: len(lo)] == lo else None
        tail = self._tok(text[offsets[j][0]:start])
        return j + len(tail) if tail and ids[j: j + len(tail)] == tail else None

    def _answer_spans(self, msgs: list[dict], text: str) -> tuple[list[tuple[int, int]], bool]:
        """Character spans of what each assistant turn must generate, and whether the eot must be appended.

        A span starts where the generation prompt for that turn ends (when the template renders the prefix
        conversation as a text prefix) or else at the answer text itself (templates that render earlier turns
        differently, e.g. Qwen3 drops their thinking block); it ends right after the family's end-of-turn token.
        """
        eot, spans, cursor, append = self.family.eot, [], 0, False
        last = max(i for i, m in enumerate(msgs) if m["role"] == "assistant")
        for i, m in enumerate(msgs):
            if m["role"] != "assistant":
                continue
            prefix = self._render(msgs[:i], generation_prompt=True) if i else ""
            if prefix and text.startswith(prefix) and len(prefix) >= cursor:
                start = len(prefix)
                frm = start
            else:  # search the answer only after where the renderings part (never inside the user's turn)
                start, frm = None, max(cursor, len(os.path.commonprefix([prefix, text])))
            body = m["content"].strip()
            pos = text.find(body, frm)
            if pos < 0 or eot in text[frm:pos]:  # not found, or only beyond this turn's end
                raise ValueError(f"assistant turn {i}: its text is not in the rendered conversation")
            start = pos if start is None else start
            end = pos + len(body)
            k = text.find(eot, end)
            if k >= 0 and not text[end:k].strip():
                end = k + len(eot)
            elif i == last and self.family.open_last_turn and not text[end:].strip():
                end, append = len(text), True
            else:
                raise ValueError(f"assistant turn {i}: the end-of-turn token {eot} of chat format "
                                 f"{self.family.name!r} does not follow it; wrong chat_format for this tokenizer?")
            spans.append((start, end))
            cursor = end
        return spans, append

    def encode_full(self, messages: Sequence[dict]) -> tuple[list[int], list[int]]:
        """ids and labels for the whole conversation, no truncation."""
        msgs = self.family.prepare_messages(list(messages), self.thinking)
        text = self._render(msgs)
        spans, append = self._answer_spans(msgs, text)
        ids, offsets = self._ids_offsets(text)
        ends = [b for _, b in offsets] if offsets is not None else None
        labels = [IGNORE_INDEX] * len(ids)
        for start, end in spans:
            # the prompt side must tokenize alone as it does here: that is what an engine sends at inference
            lo = self._prompt_length(text, start, ids, offsets, ends)
            if ends is not None:
                hi = sum(1 for b in ends if b <= end)
                clean_end = hi == len(ids) or ends[hi - 1] == end
            else:
                upto = self._tok(text[:end])
                hi, clean_end = len(upto), ids[: len(upto)] == upto
            if lo is None or not clean_end:
                raise ValueError("the chat template puts an answer boundary inside a token; "
                                 "labels cannot be placed reliably with this template")
            labels[lo: hi] = ids[lo: hi]
        if append:
            ids.append(self.eot_id)
            labels.append(self.eot_id)
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
