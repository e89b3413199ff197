"""The OpenAI chat-completions protocol as pydantic models: what a request may hold, and the response shapes.

Why: one declared schema instead of hand-written checks, so every 4xx names the field (``param``) and what is
allowed, in OpenAI's error shape. Requests are ``extra="forbid"``: OpenAI itself answers an unknown argument
with 400 ("Unrecognized request argument"), so a typo such as ``max_token`` is reported instead of silently
ignored. Every argument OpenAI documents is declared, though: the ones that do not change the answer (``user``,
``metadata``, ``store``, ``service_tier``, ``stream_options``, ``parallel_tool_calls``...) are accepted and
ignored, and the ones we cannot honour (``tools``, ``logprobs``, a JSON ``response_format``, penalties other than
0, ``logit_bias``) are rejected with a message saying so, never silently dropped. Messages may carry ``name``.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import orjson

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from taiyi.infer.engine import Completion, GenerationParams, Message

ROLE_ALIASES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_N = 8


class RequestError(ValueError):
    """A client error: becomes a 4xx response in OpenAI's error shape."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400,
                 headers: dict | None = None):
        super().__init__(message)
        self.message, self.param, self.code, self.status, self.headers = message, param, code, status, headers


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# --------------------------------------------------------------------------- request
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    content: Any = None
    name: Optional[str] = None
    refusal: Optional[str] = None

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v):
        if v not in ROLE_ALIASES:
            raise ValueError(f"unknown role {v!r} (expected system, user or assistant)")
        return ROLE_ALIASES[v]

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, v):
        if v is None or isinstance(v, str):
            return v or ""
        if isinstance(v, list):
            parts = []
            for j, part in enumerate(v):
                if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise ValueError(f"part {j}: only text parts ({{'type': 'text', 'text': ...}}) are supported")
                parts.append(part["text"])
            return "".join(parts)
        raise ValueError("expected a string or a list of text parts")


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``; field limits follow OpenAI's API reference."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    model: Optional[str] = None
    max_tokens: Optional[int] = Field(default=None, strict=True, ge=1)
    max_completion_tokens: Optional[int] = Field(default=None, strict=True, ge=1)
    temperature: Optional[float] = Field(default=None, strict=True, ge=0, le=2)
    top_p: Optional[float] = Field(default=None, strict=True, gt=0, le=1)
    n: Optional[int] = Field(default=None, strict=True, ge=1, le=MAX_N)
    seed: Optional[int] = Field(default=None, strict=True, ge=-(2**63), le=2**63 - 1)
    stream: Optional[bool] = Field(default=False, strict=True)
    stream_options: Optional[dict] = None
    stop: Optional[str | list[str]] = None
    # accepted and ignored: they do not change the answer
    user: Optional[str] = None
    metadata: Optional[dict] = None
    store: Optional[bool] = None
    service_tier: Optional[str] = None
    parallel_tool_calls: Optional[bool] = None
    # accepted only at their neutral value: anything else would be silently ignored
    frequency_penalty: Optional[float] = Field(default=None, strict=True, ge=0, le=0)
    presence_penalty: Optional[float] = Field(default=None, strict=True, ge=0, le=0)
    logprobs: Optional[Literal[False]] = None
    top_logprobs: Optional[Literal[0]] = None
    logit_bias: Optional[dict] = Field(default=None, max_length=0)
    tools: Optional[list] = Field(default=None, max_length=0)
    tool_choice: Optional[Literal["none"]] = None
    response_format: Optional[dict] = None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, v):
        if v is None or isinstance(v, str) or (isinstance(v, list) and len(v) <= 4 and all(isinstance(s, str) for s in v)):
            return v
        raise ValueError("must be a string or a list of at most 4 strings")

    @field_validator("response_format", mode="before")
    @classmethod
    def _format(cls, v):
        if v is None or (isinstance(v, dict) and v.get("type") == "text"):
            return v
        raise ValueError("only {'type': 'text'} is supported (this server does not constrain output to JSON)")


# fields accepted only at their neutral value, and that value (for the error message)
NEUTRAL_ONLY = {"frequency_penalty": "0", "presence_penalty": "0", "logprobs": "false", "top_logprobs": "0",
                "logit_bias": "{}", "tools": "[]", "tool_choice": '"none"'}


def _param(loc: tuple) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _validation_error(exc: ValidationError) -> RequestError:
    """The first pydantic error as one OpenAI-style message naming the field (``param``)."""
    e = exc.errors(include_url=False)[0]
    loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
    param = _param(loc)
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        return RequestError(f"unrecognized request argument {param!r} (see docs/serving.md for what is supported)",
                            param=param)
    if loc and loc[0] in NEUTRAL_ONLY:
        return RequestError(f"'{loc[0]}' is not supported by this server (only {NEUTRAL_ONLY[loc[0]]} is accepted); "
                            "leave it out", param=str(loc[0]))
    if e["type"] == "missing":
        return RequestError(f"'{param}' is required", param=param)
    given = e.get("input")
    shown = "" if isinstance(given, (dict, list)) or given is None else f", got {given!r}"
    if loc and loc[0] == "messages" and len(loc) == 1 and e["type"] == "too_short":
        msg = "must not be empty"
    return RequestError(f"'{param}': {msg}{shown}", param=param)


class ChatRequest:
    """A validated request turned into what the engine needs (messages + GenerationParams)."""

    def __init__(self, body: Any, defaults: GenerationParams, max_tokens_limit: int) -> None:
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        if not isinstance(body.get("messages", []), list):
            raise RequestError("'messages' must be a list of {role, content} objects", param="messages")
        try:
            req = ChatCompletionRequest.model_validate(body)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        self.messages: list[Message] = [{"role": m.role, "content": m.content} for m in req.messages]
        if all(m["role"] == "system" for m in self.messages):
            raise RequestError("'messages' must contain at least one user or assistant message", param="messages")
        max_tokens = req.max_tokens if req.max_tokens is not None else req.max_completion_tokens
        if max_tokens is not None and max_tokens > max_tokens_limit:
            name = "max_tokens" if req.max_tokens is not None else "max_completion_tokens"
            raise RequestError(f"'{name}' must be at most {max_tokens_limit} on this server, got {max_tokens}",
                               param=name)
        self.max_tokens_given = max_tokens is not None
        self.n = req.n or 1
        self.stream = bool(req.stream)
        if self.stream and self.n > 1:
            raise RequestError("'n' > 1 is not supported with streaming", param="n")
        self.include_usage = bool((req.stream_options or {}).get("include_usage"))
        stop = () if req.stop is None else (req.stop,) if isinstance(req.stop, str) else tuple(req.stop)
        temperature = defaults.temperature if req.temperature is None else req.temperature
        self.params = defaults.replace(
            max_new_tokens=max_tokens or defaults.max_new_tokens,
            min_new_tokens=0,
            temperature=temperature,
            top_p=defaults.top_p if req.top_p is None else req.top_p,
            do_sample=temperature > 0,
            stop=stop,
            seed=req.seed,
        )
        self.model = req.model


# --------------------------------------------------------------------------- responses
class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> "Usage":
        return cls(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                   total_tokens=prompt_tokens + completion_tokens)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    logprobs: None = None
    finish_reason: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage

    @classmethod
    def of(cls, rid: str, created: int, model: str, results: list[Completion], prompt_tokens: int) -> "ChatCompletion":
        return cls(id=rid, created=created, model=model,
                   choices=[Choice(index=i, message=AssistantMessage(content=r.text), finish_reason=r.finish_reason)
                            for i, r in enumerate(results)],
                   usage=Usage.of(prompt_tokens, sum(r.completion_tokens for r in results)))


class Delta(BaseModel):
    role: Optional[Literal["assistant"]] = None
    content: Optional[str] = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: None = None
    finish_reason: Optional[str] = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Optional[Usage] = None

    def sse(self) -> bytes:
        """One server-sent event; unset delta fields and a missing usage are left out, as OpenAI does."""
        data = self.model_dump()
        for c in data["choices"]:
            c["delta"] = {k: v for k, v in c["delta"].items() if v is not None}
        if data["usage"] is None:
            del data["usage"]
        return b"data: " + orjson.dumps(data) + b"\n\n"
