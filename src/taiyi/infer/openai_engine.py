"""The OpenAI-compatible HTTP backend: drive any remote or local server (ours, vLLM's, a hosted API).

Why: the same chat, generate and evaluation code should run against a model that lives elsewhere — a GPU box
running ``taiyi serve`` or vLLM, or a commercial baseline such as ChatGPT for the paper's comparison — through
the official ``openai`` client. Batches are sent concurrently from a thread pool, since a server batches better
when it sees many requests at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

from taiyi.infer.engine import Completion, Engine, EngineError, GenerationParams, Message, RequestRejected, TransientError


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def classify(exc: Exception, endpoint: str) -> EngineError:
    """An ``openai`` client error (after the client's own retries with backoff) as one line: a server error (5xx),
    timeout or rate limit is transient (this item fails); an unreachable endpoint, a rejected key or an unknown
    model ends the run."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.InternalServerError, openai.RateLimitError)):
        return TransientError(f"{endpoint}: {type(exc).__name__} after retries ({_short(exc)})")
    if isinstance(exc, openai.APIConnectionError):
        return EngineError(f"{endpoint}: cannot reach the endpoint ({_short(exc.__cause__ or exc)})")
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return EngineError(f"{endpoint}: the key was rejected (HTTP {exc.status_code}); pass --api-key or set OPENAI_API_KEY")
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return TransientError(f"{endpoint}: HTTP {exc.status_code} after retries ({_short(exc)})")
    if isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 413, 422):
        return RequestRejected(f"{endpoint}: request failed (HTTP {exc.status_code}: {_short(exc)})")
    if isinstance(exc, openai.APIStatusError):
        return EngineError(f"{endpoint}: request failed (HTTP {exc.status_code}: {_short(exc)})")
    return EngineError(f"{endpoint}: request failed ({type(exc).__name__}: {_short(exc)})")


class OpenAIEngine(Engine):
    """Generation through ``/v1/chat/completions`` of an OpenAI-compatible endpoint."""

    def __init__(
        self,
        endpoint: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout: float = 600.0,
        max_retries: int = 2,
    ) -> None:
        from openai import OpenAI

        self.endpoint = endpoint
        self.client = OpenAI(
            base_url=endpoint,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=timeout,
            max_retries=max_retries,
        )
        self.concurrency = max(1, int(concurrency))
        if model is None:
            try:
                models = self.client.models.list().data
            except Exception as exc:
                raise EngineError(f"{classify(exc, endpoint)} (while listing models; or pass --model)") from None
            if not models:
                raise EngineError(f"{endpoint}: the server lists no models; pass --model")
            model = models[0].id
        self.model_name = model

    def _kwargs(self, params: GenerationParams) -> dict:
        kw: dict = {"model": self.model_name, "max_tokens": params.max_new_tokens}
        kw["temperature"] = params.temperature if params.sampling else 0.0
        if params.sampling:
            kw["top_p"] = params.top_p
        if params.stop:
            kw["stop"] = list(params.stop)
        if params.seed is not None:
            kw["seed"] = params.seed
        return kw

    def _one(self, messages: list[Message], params: GenerationParams) -> Completion:
        try:
            resp = self.client.chat.completions.create(messages=messages, **self._kwargs(params))
        except Exception as exc:
            raise classify(exc, self.endpoint) from None
        if not getattr(resp, "choices", None):
            raise TransientError(f"{self.endpoint}: the reply has no choices")
        choice = resp.choices[0]
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason or "stop",
        )

    def generate_full(
        self, conversations: list[list[Message]], params: GenerationParams | None = None
    ) -> list[Completion]:
        params = params or GenerationParams()
        if len(conversations) <= 1:
            return [self._one(c, params) for c in conversations]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(conversations))) as pool:
            return list(pool.map(lambda c: self._one(c, params), conversations))

    def stream(self, messages: list[Message], params: GenerationParams | None = None) -> Iterator[str]:
        params = params or GenerationParams()
        try:
            chunks = self.client.chat.completions.create(messages=messages, stream=True, **self._kwargs(params))
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"{self.endpoint}: streaming request failed ({type(exc).__name__}: {exc})") from None

    def count_tokens(self, messages: list[Message]) -> int:
        """An estimate (the remote tokenizer is unknown): about 3 UTF-8 bytes per token plus 4 per message.

        It errs on the high side for Chinese and English, so a history budget based on it stays within the limit.
        """
        return sum(4 + len(m.get("content", "").encode("utf-8")) // 3 for m in messages) + 3

    def close(self) -> None:
        self.client.close()
