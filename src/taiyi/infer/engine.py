"""One generation interface over every way we run a model: transformers, vLLM or an OpenAI-compatible endpoint.

Why: chat, batch generation, the server, the web page and the evaluation stage all need "messages in, text
out" and must not care whether the model is a local merged directory, a base model plus a LoRA adapter, a
4-bit quantised 7B on a consumer card, or a remote server. Backends live in their own modules
(``hf_engine``, ``vllm_engine``, ``openai_engine``) and are imported lazily, so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator, Sequence

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}

BACKENDS = ("hf", "vllm", "openai")
QUANTIZATIONS = (None, "8bit", "4bit")


class EngineError(RuntimeError):
    """A model could not be loaded or run; the message says which model/endpoint and why."""


class TransientError(EngineError):
    """One request failed after its retries (server error, timeout, rate limit, empty reply): that prompt gets no
    answer, the others may still get theirs (evaluation counts it as failed and retries it on a re-run)."""


class RequestRejected(EngineError, ValueError):
    """The server refused this one request (HTTP 400/413/422, e.g. a prompt longer than its context): that item
    fails for good, as a prompt the in-process engine rejects does."""


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings. Defaults are the original Taiyi project's (sampling, T=0.3, top_p=0.9, 500 new tokens).

    Frozen and hashable so the server's micro-batcher can group requests with identical settings.
    """

    max_new_tokens: int = 500
    temperature: float = 0.3
    top_p: float = 0.9
    do_sample: bool = True
    stop: tuple[str, ...] = ()
    min_new_tokens: int = 0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.min_new_tokens < 0 or self.min_new_tokens > self.max_new_tokens:
            raise ValueError(f"min_new_tokens must be in [0, max_new_tokens], got {self.min_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @classmethod
    def greedy(cls, max_new_tokens: int = 500, **kw) -> "GenerationParams":
        """Deterministic decoding (what evaluation uses)."""
        return cls(max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0, do_sample=False, **kw)

    @property
    def sampling(self) -> bool:
        """True when tokens are drawn at random (temperature 0 means greedy whatever ``do_sample`` says)."""
        return self.do_sample and self.temperature > 0

    def replace(self, **kw) -> "GenerationParams":
        return dataclasses.replace(self, **kw)


@dataclass
class Completion:
    """One generated answer with the bookkeeping an OpenAI-style response needs."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" (stop token/string) or "length" (hit max_new_tokens)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to the earliest stop string, and whether one was found."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut], cut < len(text)


def validate_messages(messages: object, where: str = "messages") -> list[Message]:
    """Check a chat (list of {role, content}) and return it; raise ValueError naming the bad item."""
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: expected a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ValueError(f"{where}[{i}]: expected an object with 'role' and 'content'")
        role = m.get("role")
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"{where}[{i}].role: unknown role {role!r} (expected system, user or assistant)")
        if not isinstance(m.get("content"), str):
            raise ValueError(f"{where}[{i}].content: expected a string")
    return messages


class Engine:
    """Base class of every backend. Subclasses implement ``generate_full``, ``stream`` and ``count_tokens``."""

    model_name: str = "model"
    #: longest prompt + answer the model accepts, in tokens (None: unknown, e.g. a remote endpoint)
    max_context: int | None = None
    #: True when ``generate_full`` takes ``cancel=[Event, ...]`` and ``stream`` takes ``cancel=`` and ``info=``
    #: (a Completion filled with the generated token count): the server then stops work for clients that left
    supports_cancel: bool = False

    def generate(self, conversations: list[list[Message]], params: GenerationParams | None = None) -> list[str]:
        """Answers for a batch of conversations, in input order."""
        return [c.text for c in self.generate_full(conversations, params or GenerationParams())]

    def generate_full(
        self, conversations: list[list[Message]], params: GenerationParams | None = None
    ) -> list[Completion]:
        raise NotImplementedError

    def stream(self, messages: list[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """Yield text deltas of one answer as they are produced."""
        raise NotImplementedError

    def loglikelihood(self, pairs: list[tuple[list[Message], str]]) -> list[float]:
        """Sum log-probability of each continuation after the chat prompt (for multiple-choice scoring)."""
        raise EngineError(f"{type(self).__name__} cannot compute log-likelihoods; use the transformers backend (hf)")

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens of the chat prompt (with the assistant generation prompt)."""
        raise NotImplementedError

    def close(self) -> None:
        """Free resources (threads, GPU memory); the engine is unusable afterwards."""


def load_engine(
    model: str | None = None,
    *,
    adapter: str | None = None,
    endpoint: str | None = None,
    backend: str = "hf",
    quantization: str | None = None,
    dtype: str = "auto",
    api_key: str | None = None,
    **kwargs,
) -> Engine:
    """Open a model with the chosen backend.

    * ``hf``: ``model`` is a local directory or hub id (a merged model, or the base when ``adapter`` is given;
      an adapter directory alone works too, its base read from ``adapter_config.json``).
    * ``vllm``: same arguments, on a CUDA machine with vllm installed.
    * ``openai``: ``endpoint`` is the base URL of any OpenAI-compatible server (``.../v1``); ``model`` the
      model name there (default: the first one it lists). Giving ``endpoint`` implies this backend.
    """
    if quantization in ("none", ""):
        quantization = None
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of none, 8bit, 4bit; got {quantization!r}")
    if endpoint is not None and backend == "hf":
        backend = "openai"
    if backend == "hf":
        if model is None and adapter is None:
            raise ValueError("the hf backend needs a model directory or hub id (or an adapter directory)")
        from taiyi.infer.hf_engine import HFEngine

        return HFEngine(model, adapter=adapter, quantization=quantization, dtype=dtype, **kwargs)
    if backend == "vllm":
        if model is None:
            raise ValueError("the vllm backend needs a model directory or hub id")
        from taiyi.infer.vllm_engine import VLLMEngine

        return VLLMEngine(model, adapter=adapter, quantization=quantization, dtype=dtype, **kwargs)
    if backend == "openai":
        if endpoint is None:
            raise ValueError("the openai backend needs --endpoint (e.g. http://127.0.0.1:8000/v1)")
        if adapter is not None or quantization is not None:
            raise ValueError("adapter/quantization do not apply to a remote endpoint; configure them on its server")
        from taiyi.infer.openai_engine import OpenAIEngine

        return OpenAIEngine(endpoint, model=model, api_key=api_key, **kwargs)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
