"""The transformers backend: local or hub chat models of any registered family on CPU or GPU, optionally with a
LoRA adapter and bitsandbytes 8-bit/4-bit weights.

Why its own module: it carries the details that make batched generation correct and fast — prompts rendered by
the tokenizer's own template exactly as training rendered them (``templates.render``), left padding,
length-sorted batches put back in input order, stopping on the chat family's end-of-turn tokens plus the
generation config's, thinking blocks removed from answers — and the memory options that let a 7B model serve
from one 24 GB card (8-bit) or a 12 GB card (4-bit). Loading itself is ``taiyi.train.loader``, shared with training.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterator

from taiyi.infer.concurrency import TokenizerPool, cancel_criteria
from taiyi.infer.engine import Completion, Engine, EngineError, GenerationParams, Message, cut_at_stop


def _is_adapter_dir(path: str | None) -> bool:
    return path is not None and Path(path, "adapter_config.json").is_file() and not Path(path, "config.json").is_file()


def _has_tokenizer(path: str) -> bool:
    return Path(path, "tokenizer_config.json").is_file() or Path(path, "tokenizer.json").is_file()


class HFEngine(Engine):
    """Generation with ``transformers``; thread-safe (one model call at a time)."""

    supports_cancel = True

    def __init__(
        self,
        model: str | None,
        *,
        adapter: str | None = None,
        quantization: str | None = None,
        dtype: str = "auto",
        device: str | None = None,
        batch_size: int = 16,
        model_name: str | None = None,
        merge_adapter: bool = True,
        chat_format: str = "auto",
        thinking: bool = False,
    ) -> None:
        from taiyi.files import DataError
        from taiyi.train.loader import default_device, load_causal_lm, load_tokenizer

        if adapter is None and _is_adapter_dir(model):
            model, adapter = None, model
        if model is None:
            try:
                cfg = json.loads(Path(adapter, "adapter_config.json").read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise EngineError(f"{adapter}: cannot read adapter_config.json ({exc})") from None
            model = cfg.get("base_model_name_or_path")
            if not model:
                raise EngineError(f"{adapter}/adapter_config.json names no base model; pass the base with --model")
        if adapter is not None and not Path(adapter, "adapter_config.json").is_file():
            raise EngineError(f"{adapter}: not a PEFT adapter directory (no adapter_config.json)")

        self.device = device or default_device()
        self.batch_size = max(1, int(batch_size))
        self.model_name = model_name or Path(str(adapter or model).rstrip("/")).name
        self._lock = threading.Lock()  # one model call at a time

        tok_src = adapter if adapter is not None and _has_tokenizer(adapter) else model
        for path in (model, adapter):
            if path is not None and path.startswith(("/", "./", "../", "~")) and not Path(path).exists():
                raise EngineError(f"{path}: no such model directory")
        if Path(model).is_dir() and not Path(model, "config.json").is_file():
            raise EngineError(f"{model}: not a model directory (no config.json)")
        try:
            self.tokenizer = load_tokenizer(tok_src, padding_side="left")
            self.model = load_causal_lm(model, dtype=dtype, quantization=quantization, device=self.device)
        except (DataError, ValueError) as exc:
            raise EngineError(str(exc)) from None
        if adapter is not None:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter)
            if merge_adapter and quantization is None:  # never merge into quantised weights (design §5)
                self.model = self.model.merge_and_unload()
        self.model.eval()
        self.quantization = quantization

        tok = self.tokenizer
        if not getattr(tok, "chat_template", None) and chat_format == "auto":
            raise EngineError(f"{tok_src}: the tokenizer has no chat template; use a chat model directory "
                              "or name its chat format (load_engine(..., chat_format=...))")
        from taiyi.train.templates import prepare_tokenizer, stop_token_ids

        try:
            self.family = prepare_tokenizer(tok, chat_format)
            self.stop_ids = stop_token_ids(tok, self.family, self.model.generation_config)
        except ValueError as exc:
            raise EngineError(f"{self.model_name}: {exc}") from None
        self.thinking = bool(thinking)
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.convert_ids_to_tokens(self.stop_ids[0])
        self.pad_id = tok.pad_token_id
        cfg = getattr(self.model, "config", None)
        self.max_context = getattr(cfg, "max_position_embeddings", None) or None
        self._tokenizers = TokenizerPool(tok)

    # ---------------------------------------------------------------- encoding
    def encode(self, messages: list[Message]) -> list[int]:
        """Token ids of the chat prompt, ending with the assistant generation prompt."""
        from taiyi.train.templates import render

        with self._tokenizers.get() as tok:
            text = render(tok, self.family, messages, generation_prompt=True, thinking=self.thinking)
            return tok(text, add_special_tokens=False)["input_ids"]

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.encode(messages))

    def count_text_tokens(self, text: str) -> int:
        """Tokens of a bare text (e.g. a streamed answer, for usage figures)."""
        with self._tokenizers.get() as tok:
            return len(tok(text, add_special_tokens=False)["input_ids"])

    def _check_length(self, n: int, where: str) -> None:
        if self.max_context is not None and n >= self.max_context:
            raise ValueError(f"{where}: the prompt has {n} tokens; the model's context is {self.max_context}")

    def _gen_kwargs(self, params: GenerationParams, prompt_len: int) -> dict:
        from transformers import GenerationConfig

        max_new = params.max_new_tokens
        if self.max_context is not None:
            max_new = max(1, min(max_new, self.max_context - prompt_len))
        cfg = dict(
            max_new_tokens=max_new,
            min_new_tokens=min(params.min_new_tokens, max_new) or None,
            do_sample=params.sampling,
            eos_token_id=list(self.stop_ids),
            pad_token_id=self.pad_id,
            repetition_penalty=params.repetition_penalty,
        )
        if params.sampling:
            cfg.update(temperature=params.temperature, top_p=params.top_p)
        return {"generation_config": GenerationConfig(**{k: v for k, v in cfg.items() if v is not None})}

    def _batch_tensors(self, seqs: list[list[int]]):
        import torch

        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, width - len(s):] = torch.tensor(s, dtype=torch.long)
            mask[r, width - len(s):] = 1
        return ids.to(self.model.device), mask.to(self.model.device)

    # ---------------------------------------------------------------- generation
    def generate_full(
        self, conversations: list[list[Message]], params: GenerationParams | None = None,
        cancel: list[threading.Event] | None = None,
    ) -> list[Completion]:
        """``cancel``: one flag per conversation; a flagged row stops at its next token (its client left)."""
        import torch

        params = params or GenerationParams()
        encoded = [self.encode(m) for m in conversations]
        for i, e in enumerate(encoded):
            self._check_length(len(e), f"conversation {i}")
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))  # similar lengths share a batch
        results: list[Completion | None] = [None] * len(encoded)
        with self._lock, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                if cancel is not None and all(cancel[i].is_set() for i in idx):
                    for i in idx:
                        results[i] = Completion("", len(encoded[i]), 0, "stop")
                    continue
                seqs = [encoded[i] for i in idx]
                ids, mask = self._batch_tensors(seqs)
                kw = self._gen_kwargs(params, ids.shape[1])
                if cancel is not None:
                    kw["stopping_criteria"] = cancel_criteria([cancel[i] for i in idx])
                out = self.model.generate(input_ids=ids, attention_mask=mask, **kw)
                new = out[:, ids.shape[1]:].tolist()
                max_new = kw["generation_config"].max_new_tokens
                for i, toks in zip(idx, new):
                    results[i] = self._finish(toks, params, len(encoded[i]), max_new)
        return results  # type: ignore[return-value]

    def _finish(self, toks: list[int], params: GenerationParams, prompt_len: int, max_new: int) -> Completion:
        stopped = False
        for j, t in enumerate(toks):
            if t in self.stop_ids:
                toks, stopped = toks[:j], True
                break
        generated = len(toks)
        answer = self._without_thinking(toks)
        with self._tokenizers.get() as tok:
            text = tok.decode(answer, skip_special_tokens=True)
        text = self.family.strip_thinking(text)  # answers are scored and shown without reasoning blocks
        if len(answer) != generated:
            text = text.strip()
        text, hit = cut_at_stop(text, params.stop)
        reason = "stop" if (stopped or hit or generated < max_new) else "length"
        return Completion(text, prompt_len, generated + int(stopped), reason)

    def _without_thinking(self, toks: list[int]) -> list[int]:
        """Token-level cut of a reasoning block (its markers may be special tokens that decoding would drop)."""
        if not self.family.thinking:
            return toks
        o, c = (self.tokenizer.convert_tokens_to_ids(t) for t in self.family.thinking)
        if c in toks:
            toks = toks[len(toks) - toks[::-1].index(c):]
        if o in toks:
            toks = toks[: toks.index(o)]
        return toks

    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None, info: Completion | None = None) -> Iterator[str]:
        """Text deltas of one answer. ``cancel`` stops it at the next token; ``info`` is filled at the end with
        the generated token count (the tokens, not a re-tokenised text) and the finish reason."""
        import torch
        from transformers import TextIteratorStreamer

        params = params or GenerationParams()
        seq = self.encode(messages)
        self._check_length(len(seq), "messages")
        stop_ids = set(self.stop_ids)

        class _Counting(TextIteratorStreamer):
            generated, last = 0, None

            def put(self, value):
                if not (self.skip_prompt and self.next_tokens_are_prompt):
                    self.generated += int(value.numel())
                    self.last = int(value.reshape(-1)[-1])
                super().put(value)

        streamer = _Counting(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        own = threading.Event()
        error: list[BaseException] = []
        gen_kw = self._gen_kwargs(params, len(seq))
        flags = [own] if cancel is None else [own, cancel]

        def work() -> None:
            try:
                with self._lock, torch.inference_mode():
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    ids, mask = self._batch_tensors([seq])
                    self.model.generate(input_ids=ids, attention_mask=mask, streamer=streamer,
                                        stopping_criteria=cancel_criteria([flags], any_of=True), **gen_kw)
            except BaseException as exc:  # surfaced in the consuming thread
                error.append(exc)
                streamer.end()

        worker = threading.Thread(target=work, name="taiyi-stream", daemon=True)
        worker.start()
        holdback = max((len(s) for s in params.stop), default=1) - 1
        text, sent, done, hit_stop = "", 0, False, False
        try:
            for piece in streamer:
                text += piece
                cut, hit = cut_at_stop(text, params.stop)
                if hit:
                    if len(cut) > sent:
                        yield cut[sent:]
                    sent = len(text)
                    own.set()
                    hit_stop = True
                    break
                safe = len(text) - holdback
                if safe > sent:
                    yield text[sent:safe]
                    sent = safe
            else:
                done = True
                if len(text) > sent:
                    yield text[sent:]
        finally:
            own.set()  # stops generation at the next token when the consumer broke off early
            if not done:
                for _ in streamer:  # consume up to the end signal so nothing is left behind
                    pass
            worker.join()
        if error:
            raise error[0]
        if info is not None:
            max_new = gen_kw["generation_config"].max_new_tokens
            info.text, info.prompt_tokens, info.completion_tokens = cut_at_stop(text, params.stop)[0], len(seq), streamer.generated
            stopped = hit_stop or streamer.last in stop_ids or (cancel is not None and cancel.is_set())
            info.finish_reason = "length" if not stopped and streamer.generated >= max_new else "stop"

    # ---------------------------------------------------------------- scoring
    def loglikelihood(self, pairs: list[tuple[list[Message], str]], batch_size: int = 4) -> list[float]:
        import torch

        seqs = []
        for k, (msgs, cont) in enumerate(pairs):
            p = self.encode(msgs)
            with self._tokenizers.get() as tok:
                c = tok(cont, add_special_tokens=False)["input_ids"]
            if not c:
                raise ValueError(f"pair {k}: empty continuation")
            self._check_length(len(p) + len(c), f"pair {k}")
            seqs.append((p, c))
        order = sorted(range(len(seqs)), key=lambda i: -(len(seqs[i][0]) + len(seqs[i][1])))
        scores = [0.0] * len(seqs)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                rows = [seqs[i][0] + seqs[i][1] for i in idx]
                width = max(len(r) for r in rows)
                ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for r, row in enumerate(rows):  # right padding: positions of real tokens stay 0..n-1
                    ids[r, :len(row)] = torch.tensor(row)
                    mask[r, :len(row)] = 1
                logits = self.model(input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device)).logits
                for r, i in enumerate(idx):
                    p, c = seqs[i]
                    sl = logits[r, len(p) - 1:len(p) + len(c) - 1].float().log_softmax(-1)
                    tgt = torch.tensor(c, device=sl.device)
                    scores[i] = float(sl.gather(1, tgt[:, None]).sum())
        return scores

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            pass

