"""The OpenAI-compatible HTTP server behind ``taiyi serve`` (FastAPI + uvicorn): the app and its routes.

Why: existing clients, evaluation tools and apps already speak OpenAI's ``/v1/chat/completions``; serving that API
lets them use a Taiyi model unchanged. The protocol (request/response models, 4xx errors) lives in
``server_protocol``, batching and admission in ``server_batcher``; this module puts them in the order that keeps
the server responsive under faults: size checks before any expensive work (body bytes from the header, then a
character bound, then tokenisation in a worker thread with its own tokenizer copy), a bounded queue that
answers 503 + ``Retry-After`` when full, and generation stopped when its client disconnects.

(No ``from __future__ import annotations`` here: FastAPI reads the route signatures at runtime.)
"""


import asyncio
import contextlib
import hmac
import threading
import time
import uuid
import weakref
from typing import AsyncIterator

import orjson

from taiyi.infer.engine import Completion, Engine, GenerationParams
from taiyi.infer.server_batcher import MicroBatcher, Overloaded
from taiyi.infer.server_protocol import (
    ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkChoice, Delta, RequestError, Usage, error_body,
)

__all__ = ["create_app", "ServerThread", "free_port", "vllm_server_command", "MicroBatcher", "RequestError"]

MAX_REQUEST_BYTES = 1 << 20  # a 32k-token prompt is ~100-200 KB of text; 1 MiB leaves ample room
DISCONNECT_POLL_S = 0.05


class _ApiKey:
    """Pure ASGI middleware requiring ``Authorization: Bearer KEY`` on /v1/* (liveness probes need none).

    Why not ``@app.middleware``: Starlette's BaseHTTPMiddleware wraps ``receive``, which hides client
    disconnects from the routes that must notice them.
    """

    def __init__(self, app, api_key: str):
        self.app, self.key = app, api_key.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(token.encode(), self.key):
                body = orjson.dumps(error_body("Invalid or missing API key: send 'Authorization: Bearer <key>'",
                                               code="invalid_api_key"))
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def max_token_chars(engine: Engine) -> int | None:
    """Most characters one token of ``engine``'s vocabulary can stand for (None: unknown tokenizer).

    A prompt longer than ``limit * this`` characters has more than ``limit`` tokens for sure, so it can be
    refused without tokenising it. Byte-level BPE tokens are written one character per byte, so the length of
    the longest vocabulary entry bounds the characters of its text.
    """
    tok = getattr(engine, "tokenizer", None)
    try:
        return max(len(t) for t in tok.get_vocab()) if tok is not None else None
    except Exception:
        return None


async def _read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_big = RequestError(f"the request body exceeds this server's limit of {limit:,} bytes "
                           "(see --max-request-bytes)", code="request_too_large", status=413)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        parts.append(chunk)
    return b"".join(parts)


def create_app(
    engine: Engine,
    *,
    api_key: str | None = None,
    defaults: GenerationParams | None = None,
    max_batch_size: int = 16,
    batch_wait_ms: float = 10.0,
    max_tokens_limit: int = 4096,
    max_prompt_tokens: int | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_queue: int = 256,
):
    """The FastAPI application serving ``engine``."""
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    defaults = defaults or GenerationParams()
    batcher = MicroBatcher(engine, max_batch=max_batch_size, wait_ms=batch_wait_ms, max_queue=max_queue)
    created = int(time.time())
    token_chars = max_token_chars(engine)
    can_cancel = bool(getattr(engine, "supports_cancel", False))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        batcher.close()

    app = FastAPI(title="Taiyi OpenAI-compatible server", version="1", lifespan=lifespan)
    app.state.batcher = batcher
    app.state.engine = engine
    if api_key:
        app.add_middleware(_ApiKey, api_key=api_key)

    def err(status: int, message: str, param=None, code=None, type_=None, headers=None) -> JSONResponse:
        type_ = type_ or ("invalid_request_error" if status < 500 else "server_error")
        return JSONResponse(error_body(message, type_, param, code), status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        return err(exc.status_code, f"{exc.detail} ({request.method} {request.url.path})")

    @app.exception_handler(RequestError)
    async def request_error(request, exc: RequestError):
        return err(exc.status, exc.message, exc.param, exc.code, headers=exc.headers)

    @app.exception_handler(Overloaded)
    async def overloaded(request, exc: Overloaded):
        return err(503, str(exc), code="server_overloaded", headers={"Retry-After": str(exc.retry_after)})

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": engine.model_name, "queued": batcher.pending, "load": batcher.load,
                "max_queue": batcher.max_queue, "batches": batcher.batches, "cancelled": batcher.cancelled,
                "refused": batcher.refused}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": engine.model_name, "object": "model", "created": created,
                                            "owned_by": "taiyi"}]}

    def precheck(req: ChatRequest) -> None:
        """Refuse a prompt that is too long for sure from its character count, before tokenising it."""
        limit = min(x for x in (max_prompt_tokens, engine.max_context, 1 << 62) if x is not None)
        chars = sum(len(m["content"]) for m in req.messages)
        if token_chars and chars > limit * token_chars:
            raise RequestError(f"the prompt has {chars:,} characters, more than {limit:,} tokens can hold; "
                               f"this server accepts at most {limit:,} prompt tokens",
                               param="messages", code="context_length_exceeded")

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        raw = await _read_body(request, max_request_bytes)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(f"the request body is not valid JSON ({exc})") from None
        req = ChatRequest(body, defaults, max_tokens_limit)
        precheck(req)
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        now = int(time.time())
        place = contextlib.ExitStack()
        place.enter_context(batcher.admitted())  # raises Overloaded -> 503 + Retry-After
        try:
            if req.stream:
                prompt_tokens = await run_in_threadpool(engine.count_tokens, req.messages)
                params = _fit_context(req, prompt_tokens, engine.max_context, max_prompt_tokens)
                stream = _sse(engine, req, params, rid, now, prompt_tokens, can_cancel, place)
                weakref.finalize(stream, place.close)  # also when the client left before the stream started
                place = None  # the stream releases its place when it ends
                return StreamingResponse(stream, media_type="text/event-stream",
                                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            with batcher.arriving():
                prompt_tokens = await run_in_threadpool(engine.count_tokens, req.messages)
                params = _fit_context(req, prompt_tokens, engine.max_context, max_prompt_tokens)
                tickets = [batcher.submit(req.messages, params) for _ in range(req.n)]
            results = await _await_or_abandon(request, tickets)
            if results is None:  # the client left; nobody reads this
                return err(499, "client closed the request", code="client_closed_request")
        except ValueError as exc:  # the engine refused the input (e.g. too long after all)
            if isinstance(exc, RequestError):
                raise
            return err(400, str(exc))
        except Exception as exc:
            return err(500, f"generation failed: {type(exc).__name__}: {exc}")
        finally:
            if place is not None:
                place.close()
        return ChatCompletion.of(rid, now, engine.model_name, results, prompt_tokens).model_dump()

    return app


async def _await_or_abandon(request, tickets) -> list[Completion] | None:
    """Wait for every ticket; if the client disconnects first, abandon them (skipped or stopped) -> None."""
    gathered = asyncio.gather(*(asyncio.wrap_future(t.future) for t in tickets))
    try:
        while True:
            done, _ = await asyncio.wait({gathered}, timeout=DISCONNECT_POLL_S)
            if done:
                return gathered.result()
            if await request.is_disconnected():
                break
    except asyncio.CancelledError:  # the server is shutting down: nobody will read these answers either
        for t in tickets:
            t.abandon()
        raise
    for t in tickets:
        t.abandon()
    gathered.cancel()
    with contextlib.suppress(BaseException):
        await gathered
    return None


def _fit_context(req: ChatRequest, prompt_tokens: int, max_context: int | None,
                 max_prompt_tokens: int | None) -> GenerationParams:
    """Reject prompts that do not fit; shrink an unrequested max_tokens to the room left (as OpenAI does)."""
    if max_prompt_tokens is not None and prompt_tokens > max_prompt_tokens:
        raise RequestError(f"the prompt has {prompt_tokens} tokens; this server accepts at most {max_prompt_tokens}",
                           param="messages", code="context_length_exceeded")
    if max_context is None:
        return req.params
    room = max_context - prompt_tokens
    if room < 1 or (req.max_tokens_given and req.params.max_new_tokens > room):
        raise RequestError(
            f"This model's maximum context length is {max_context} tokens. However, you requested "
            f"{prompt_tokens + req.params.max_new_tokens} tokens ({prompt_tokens} in the messages, "
            f"{req.params.max_new_tokens} in the completion). Please reduce the length of the messages or completion.",
            param="messages", code="context_length_exceeded")
    if req.params.max_new_tokens > room:
        return req.params.replace(max_new_tokens=room)
    return req.params


async def _sse(engine: Engine, req: ChatRequest, params: GenerationParams, rid: str, created: int,
               prompt_tokens: int, can_cancel: bool, place: contextlib.ExitStack) -> AsyncIterator[bytes]:
    """Server-sent events in OpenAI's chunk format, ending with ``data: [DONE]``.

    The engine runs in its own thread and hands deltas over a queue. When the client disconnects, Starlette
    cancels this generator; ``finally`` then sets the cancel flag and generation stops at the next token.
    """
    def chunk(delta: Delta | None, finish=None, usage=None) -> bytes:
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish)]
        return ChatCompletionChunk(id=rid, created=created, model=engine.model_name, choices=choices,
                                   usage=usage).sse()

    loop = asyncio.get_running_loop()
    deltas: asyncio.Queue = asyncio.Queue()
    cancel = threading.Event()
    info = Completion("")

    def put(item) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is gone (server shutting down)
            loop.call_soon_threadsafe(deltas.put_nowait, item)

    def produce() -> None:
        try:
            kw = {"cancel": cancel, "info": info} if can_cancel else {}
            for delta in engine.stream(req.messages, params, **kw):
                put(("delta", delta))
                if cancel.is_set():
                    break
            put(("end", None))
        except BaseException as exc:  # surfaced to the client as an error event
            put(("error", exc))

    try:
        yield chunk(Delta(role="assistant", content=""))
        threading.Thread(target=produce, name="taiyi-sse", daemon=True).start()
        parts: list[str] = []
        while True:
            kind, value = await deltas.get()
            if kind == "delta":
                parts.append(value)
                yield chunk(Delta(content=value))
                continue
            if kind == "error":
                yield b"data: " + orjson.dumps(error_body(f"generation failed: {value}", "server_error")) + b"\n\n"
                yield b"data: [DONE]\n\n"
                return
            break
        text = "".join(parts)
        if can_cancel:  # the engine counted the tokens it generated
            n, finish = info.completion_tokens, info.finish_reason
        else:  # a remote engine: estimate from the text
            n = _text_tokens(engine, text)
            finish = "length" if n >= params.max_new_tokens and not any(s and s in text for s in params.stop) else "stop"
        yield chunk(Delta(), finish)
        if req.include_usage:
            yield chunk(None, usage=Usage.of(prompt_tokens, n))
        yield b"data: [DONE]\n\n"
    finally:
        cancel.set()
        place.close()


def _text_tokens(engine: Engine, text: str) -> int:
    count = getattr(engine, "count_text_tokens", None)
    if count is not None:
        return count(text)
    return max(0, engine.count_tokens([{"role": "assistant", "content": text}]) - engine.count_tokens([]))


# --------------------------------------------------------------------------- running it
class ServerThread:
    """Run an ASGI app under uvicorn in a background thread (tests, benchmarks, notebooks); bounded start/stop."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.host = host
        self.port = port or free_port(host)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level=log_level,
                                                    lifespan="on", timeout_graceful_shutdown=5))
        self.thread = threading.Thread(target=self.server.run, name="taiyi-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def vllm_server_command(model: str, *, host: str, port: int, api_key: str | None = None, adapter: str | None = None,
                        quantization: str | None = None, dtype: str = "auto", served_name: str | None = None,
                        max_model_len: int | None = None) -> list[str]:
    """The command line of vLLM's own OpenAI-compatible server for the same options."""
    import sys

    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
           "--host", host, "--port", str(port), "--dtype", {"bf16": "bfloat16", "fp16": "float16"}.get(dtype, dtype)]
    if served_name:
        cmd += ["--served-model-name", served_name]
    if api_key:
        cmd += ["--api-key", api_key]
    if adapter:
        cmd += ["--enable-lora", "--max-lora-rank", "64", "--lora-modules", f"{served_name or 'adapter'}-lora={adapter}"]
    if quantization == "4bit":
        cmd += ["--quantization", "bitsandbytes"]
    elif quantization == "8bit":
        raise ValueError("vLLM loads bitsandbytes weights in 4-bit only; use --quantization 4bit or --engine hf")
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    return cmd
