"""The OpenAI-compatible HTTP server behind ``taiyi serve`` (FastAPI + uvicorn).

Why: existing clients, evaluation tools and apps already speak OpenAI's ``/v1/chat/completions``; serving that API
lets them use a Taiyi model unchanged. Requests are validated up front with OpenAI-shaped 4xx errors, and
concurrent requests are gathered by a micro-batching queue (a few milliseconds) into one batched
``engine.generate`` call instead of being answered one after another.

(No ``from __future__ import annotations`` here: FastAPI reads the route signatures at runtime.)
"""


import asyncio
import contextlib
import hmac
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Iterator

import orjson

from taiyi.infer.engine import Completion, Engine, GenerationParams, Message

ROLE_ALIASES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_N = 8


class RequestError(ValueError):
    """A client error: becomes a 4xx response in OpenAI's error shape."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# --------------------------------------------------------------------------- micro-batching
class MicroBatcher:
    """Collects requests for up to ``wait_ms`` (or until ``max_batch``) and answers them with one engine call.

    One worker thread owns the engine calls. While a batch runs, new requests queue up and form the next batch,
    so under load batches fill without any waiting. The window is only waited out while other requests are
    known to be on their way (``arriving``: received, still being validated/tokenised), so a lone request is
    answered at once. Requests with different decoding settings are split into groups (one ``generate_full``
    call per distinct ``GenerationParams``).
    """

    def __init__(self, engine: Engine, max_batch: int = 16, wait_ms: float = 10.0) -> None:
        self.engine = engine
        self.max_batch = max(1, int(max_batch))
        self.wait_s = max(0.0, wait_ms) / 1000.0
        self._queue: queue.Queue = queue.Queue()
        self.batches = 0  # engine calls made (for /health and tests)
        self._arriving = 0
        self._arriving_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="taiyi-batcher", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def arriving(self):
        """Mark a request that will be submitted shortly (the batcher waits for it, up to the window)."""
        with self._arriving_lock:
            self._arriving += 1
        try:
            yield
        finally:
            with self._arriving_lock:
                self._arriving -= 1

    def submit(self, messages: list[Message], params: GenerationParams) -> Future:
        fut: Future = Future()
        self._queue.put((messages, params, fut))
        return fut

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _collect(self, first) -> tuple[list, bool]:
        batch, closing = [first], False
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch:
            try:  # take what is already waiting at once; then wait out the window for more
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or self._arriving == 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is None:
                closing = True
                break
            batch.append(item)
        return batch, closing

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, closing = self._collect(first)
            groups: dict[GenerationParams, list] = {}
            for item in batch:
                groups.setdefault(item[1], []).append(item)
            for params, items in groups.items():
                live = [it for it in items if it[2].set_running_or_notify_cancel()]
                if not live:
                    continue
                try:
                    self.batches += 1
                    results = self.engine.generate_full([it[0] for it in live], params)
                except BaseException as exc:  # every waiting request learns of the failure
                    for it in live:
                        it[2].set_exception(exc)
                    continue
                for it, res in zip(live, results):
                    it[2].set_result(res)
            if closing:
                return

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


# --------------------------------------------------------------------------- request validation
def _content_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise RequestError(f"{where}.content[{j}]: only text parts ({{'type': 'text', 'text': ...}}) are supported",
                                   param=f"{where}.content")
            parts.append(part["text"])
        return "".join(parts)
    raise RequestError(f"{where}.content: expected a string or a list of text parts", param=f"{where}.content")


def parse_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list):
        raise RequestError("'messages' must be a list of {role, content} objects", param="messages")
    if not raw:
        raise RequestError("'messages' must not be empty", param="messages")
    out = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise RequestError(f"{where}: expected an object with 'role' and 'content'", param=where)
        role = m.get("role")
        if role not in ROLE_ALIASES:
            raise RequestError(f"{where}.role: unknown role {role!r} (expected system, user or assistant)",
                               param=f"{where}.role")
        out.append({"role": ROLE_ALIASES[role], "content": _content_text(m.get("content"), where)})
    if all(m["role"] == "system" for m in out):
        raise RequestError("'messages' must contain at least one user or assistant message", param="messages")
    return out


def _number(body: dict, name: str, kind: type, lo: float, hi: float, lo_open: bool = False):
    v = body.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not float(v).is_integer()):
        raise RequestError(f"'{name}' must be {'an integer' if kind is int else 'a number'}, got {v!r}", param=name)
    if (v <= lo if lo_open else v < lo) or v > hi:
        rng = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise RequestError(f"'{name}' must be in {rng}, got {v!r}", param=name)
    return kind(v)


class ChatRequest:
    """A validated ``/v1/chat/completions`` request."""

    def __init__(self, body: Any, defaults: GenerationParams, max_tokens_limit: int) -> None:
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        self.messages = parse_messages(body.get("messages"))
        temperature = _number(body, "temperature", float, 0, 2)
        top_p = _number(body, "top_p", float, 0, 1, lo_open=True)
        max_tokens = _number(body, "max_tokens", int, 1, max_tokens_limit)
        if max_tokens is None:
            max_tokens = _number(body, "max_completion_tokens", int, 1, max_tokens_limit)
        self.max_tokens_given = max_tokens is not None
        self.n = _number(body, "n", int, 1, MAX_N) or 1
        seed = _number(body, "seed", int, -(2**63), 2**63 - 1)
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError("'stream' must be true or false", param="stream")
        self.stream = stream
        if stream and self.n > 1:
            raise RequestError("'n' > 1 is not supported with streaming", param="n")
        opts = body.get("stream_options") or {}
        self.include_usage = bool(isinstance(opts, dict) and opts.get("include_usage"))
        stop = body.get("stop")
        if stop is None:
            stop = ()
        elif isinstance(stop, str):
            stop = (stop,)
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= 4:
            stop = tuple(stop)
        else:
            raise RequestError("'stop' must be a string or a list of at most 4 strings", param="stop")
        temperature = defaults.temperature if temperature is None else temperature
        self.params = defaults.replace(
            max_new_tokens=max_tokens or defaults.max_new_tokens,
            min_new_tokens=0,
            temperature=temperature,
            top_p=defaults.top_p if top_p is None else top_p,
            do_sample=temperature > 0,
            stop=stop,
            seed=seed,
        )
        self.model = body.get("model")


# --------------------------------------------------------------------------- the app
def create_app(
    engine: Engine,
    *,
    api_key: str | None = None,
    defaults: GenerationParams | None = None,
    max_batch_size: int = 16,
    batch_wait_ms: float = 10.0,
    max_tokens_limit: int = 4096,
    max_prompt_tokens: int | None = None,
):
    """The FastAPI application serving ``engine``."""
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    defaults = defaults or GenerationParams()
    batcher = MicroBatcher(engine, max_batch=max_batch_size, wait_ms=batch_wait_ms)
    created = int(time.time())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        batcher.close()

    app = FastAPI(title="Taiyi OpenAI-compatible server", version="1", lifespan=lifespan)
    app.state.batcher = batcher
    app.state.engine = engine

    def err(status: int, message: str, param=None, code=None, type_=None) -> JSONResponse:
        type_ = type_ or ("invalid_request_error" if status < 500 else "server_error")
        return JSONResponse(error_body(message, type_, param, code), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        return err(exc.status_code, f"{exc.detail} ({request.method} {request.url.path})")

    @app.exception_handler(RequestError)
    async def request_error(request, exc: RequestError):
        return err(exc.status, exc.message, exc.param, exc.code)

    @app.middleware("http")
    async def auth(request: Request, call_next):
        if api_key and request.url.path.startswith("/v1/"):
            header = request.headers.get("authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(token.encode(), api_key.encode()):
                return err(401, "Invalid or missing API key: send 'Authorization: Bearer <key>'",
                           code="invalid_api_key")
        return await call_next(request)

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": engine.model_name, "queued": batcher.pending, "batches": batcher.batches}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": engine.model_name, "object": "model", "created": created,
                                            "owned_by": "taiyi"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(f"the request body is not valid JSON ({exc})") from None
        req = ChatRequest(body, defaults, max_tokens_limit)
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        now = int(time.time())
        if req.stream:
            prompt_tokens = await run_in_threadpool(engine.count_tokens, req.messages)
            params = _fit_context(req, prompt_tokens, engine.max_context, max_prompt_tokens)
            return StreamingResponse(
                _sse(engine, req, params, rid, now, prompt_tokens),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        with batcher.arriving():
            prompt_tokens = await run_in_threadpool(engine.count_tokens, req.messages)
            params = _fit_context(req, prompt_tokens, engine.max_context, max_prompt_tokens)
            futures = [asyncio.wrap_future(batcher.submit(req.messages, params)) for _ in range(req.n)]
        try:
            results: list[Completion] = await asyncio.gather(*futures)
        except ValueError as exc:  # the engine refused the input (e.g. too long after all)
            return err(400, str(exc))
        except Exception as exc:
            return err(500, f"generation failed: {type(exc).__name__}: {exc}")
        completion_tokens = sum(r.completion_tokens for r in results)
        return {
            "id": rid, "object": "chat.completion", "created": now, "model": engine.model_name,
            "choices": [{"index": i, "message": {"role": "assistant", "content": r.text},
                         "logprobs": None, "finish_reason": r.finish_reason} for i, r in enumerate(results)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    return app


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


def _sse(engine: Engine, req: ChatRequest, params: GenerationParams, rid: str, created: int,
         prompt_tokens: int) -> Iterator[bytes]:
    """Server-sent events in OpenAI's chunk format, ending with ``data: [DONE]``."""

    def event(delta: dict, finish=None, usage=None) -> bytes:
        chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": engine.model_name,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage is not None:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    yield event({"role": "assistant", "content": ""})
    parts = []
    try:
        for delta in engine.stream(req.messages, params):
            parts.append(delta)
            yield event({"content": delta})
    except Exception as exc:
        yield b"data: " + orjson.dumps(error_body(f"generation failed: {exc}", "server_error")) + b"\n\n"
        yield b"data: [DONE]\n\n"
        return
    text = "".join(parts)
    n = _text_tokens(engine, text)
    finish = "length" if n >= params.max_new_tokens and not any(s and s in text for s in params.stop) else "stop"
    yield event({}, finish)
    if req.include_usage:
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}
        yield b"data: " + orjson.dumps({"id": rid, "object": "chat.completion.chunk", "created": created,
                                        "model": engine.model_name, "choices": [], "usage": usage}) + b"\n\n"
    yield b"data: [DONE]\n\n"


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
