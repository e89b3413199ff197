"""Inference commands: ``taiyi chat``, ``taiyi generate``, ``taiyi serve``, ``taiyi webui``.

Heavy libraries (torch, transformers, fastapi, gradio) are imported inside the command bodies so ``taiyi --help``
stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

MODEL_HELP = "Model directory or hub id (a merged model, or the base model when --adapter is given)."


def _engine(model, adapter, endpoint, backend, quantization, dtype, api_key, batch_size=16):
    from taiyi.infer.engine import EngineError, load_engine

    kwargs = {"batch_size": batch_size} if (backend == "hf" and endpoint is None) else {}
    try:
        return load_engine(model, adapter=adapter, endpoint=endpoint, backend=backend, quantization=quantization,
                           dtype=dtype, api_key=api_key, **kwargs)
    except (EngineError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _params(max_new_tokens, temperature, top_p, greedy, repetition_penalty=1.0):
    from taiyi.infer.engine import GenerationParams

    try:
        if greedy:
            return GenerationParams.greedy(max_new_tokens=max_new_tokens, repetition_penalty=repetition_penalty)
        return GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                do_sample=temperature > 0, repetition_penalty=repetition_penalty)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


# Options shared by every command (typer needs them spelled out per command).
Model = typer.Option(None, "--model", "-m", help=MODEL_HELP)
Adapter = typer.Option(None, "--adapter", help="PEFT/LoRA adapter directory applied on top of --model.")
Endpoint = typer.Option(None, "--endpoint", help="Base URL of an OpenAI-compatible server (implies --backend openai).")
Backend = typer.Option("hf", "--backend", help="hf (transformers), vllm (CUDA) or openai (remote endpoint).")
Quant = typer.Option(None, "--quantization", "-q", help="Load weights in 8bit or 4bit (bitsandbytes): 8bit for a 7B "
                     "model on a 24 GB card, 4bit on a 12 GB card.")
Dtype = typer.Option("auto", "--dtype", help="auto (bf16 on GPU, fp32 on CPU), bf16, fp16 or fp32.")
ApiKey = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", help="API key for --endpoint.")
MaxNew = typer.Option(500, "--max-new-tokens", help="Most tokens per answer.")
Temp = typer.Option(0.3, "--temperature", help="Sampling temperature (0 = greedy).")
TopP = typer.Option(0.9, "--top-p", help="Nucleus sampling threshold.")
Greedy = typer.Option(False, "--greedy", help="Deterministic decoding (ignores temperature/top-p).")
RepPen = typer.Option(1.0, "--repetition-penalty", help="Penalty on repeated tokens (1.0 = none, as the original).")


def chat(
    model: Optional[str] = Model,
    adapter: Optional[str] = Adapter,
    endpoint: Optional[str] = Endpoint,
    backend: str = Backend,
    quantization: Optional[str] = Quant,
    dtype: str = Dtype,
    api_key: Optional[str] = ApiKey,
    system: Optional[str] = typer.Option(None, "--system", help="System prompt (kept when old turns are dropped)."),
    once: Optional[str] = typer.Option(None, "--once", help="Answer this one question, print it and exit."),
    history_tokens: int = typer.Option(2048, "--history-tokens", help="Token budget of the prompt: oldest turns "
                                       "are dropped first to stay within it."),
    max_new_tokens: int = MaxNew,
    temperature: float = Temp,
    top_p: float = TopP,
    greedy: bool = Greedy,
    repetition_penalty: float = RepPen,
) -> None:
    """Multi-turn chat in the terminal, with streaming answers.

    In the chat: /reset clears the history, /system TEXT sets the system prompt, /exit quits.

    Example: taiyi chat --model runs/taiyi/merged --once "阿司匹林有哪些副作用？"
    """
    from taiyi.infer.chat import ChatSession, run_repl

    engine = _engine(model, adapter, endpoint, backend, quantization, dtype, api_key)
    session = ChatSession(engine, system=system, params=_params(max_new_tokens, temperature, top_p, greedy, repetition_penalty),
                          history_tokens=history_tokens)
    try:
        if once is not None:
            for delta in session.stream(once):
                sys.stdout.write(delta)
                sys.stdout.flush()
            sys.stdout.write("\n")
        else:
            run_repl(session)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    except ValueError as exc:  # e.g. a single message longer than the model's context
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def generate(
    input: Path = typer.Option(..., "--input", "-i", exists=True, dir_okay=False,
                               help='JSONL of {"id", "prompt"} or {"id", "messages"}.'),
    output: Path = typer.Option(..., "--output", "-o", dir_okay=False,
                                help="JSONL to append answers to (input record + \"answer\"); re-running resumes."),
    model: Optional[str] = Model,
    adapter: Optional[str] = Adapter,
    endpoint: Optional[str] = Endpoint,
    backend: str = Backend,
    quantization: Optional[str] = Quant,
    dtype: str = Dtype,
    api_key: Optional[str] = ApiKey,
    batch_size: int = typer.Option(16, "--batch-size", help="Prompts per model call."),
    max_new_tokens: int = MaxNew,
    temperature: float = Temp,
    top_p: float = TopP,
    greedy: bool = Greedy,
    repetition_penalty: float = RepPen,
) -> None:
    """Answer every prompt of a JSONL file, batched, with a progress bar; skips ids already answered.

    Example: taiyi generate --model runs/taiyi/merged --input prompts.jsonl --output answers.jsonl --greedy
    """
    from taiyi.files import DataError
    from taiyi.infer.generate import load_requests, run_generate

    try:
        load_requests(input)  # fail on bad input before spending minutes loading a model
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = _engine(model, adapter, endpoint, backend, quantization, dtype, api_key, batch_size)
    try:
        stats = run_generate(engine, input, output, _params(max_new_tokens, temperature, top_p, greedy, repetition_penalty),
                             batch_size=batch_size)
    except (DataError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{stats['generated']} answered, {stats['skipped']} already done -> {stats['output']}", err=True)


def serve(
    model: Optional[str] = Model,
    adapter: Optional[str] = Adapter,
    endpoint: Optional[str] = Endpoint,
    engine_name: str = typer.Option("hf", "--engine", "--backend", help="hf (transformers, batched here), "
                                    "vllm (runs vLLM's own OpenAI server) or openai (relay to --endpoint)."),
    quantization: Optional[str] = Quant,
    dtype: str = Dtype,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default; 0.0.0.0 exposes it)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="TAIYI_API_KEY",
                                          help="Require 'Authorization: Bearer KEY' on /v1/* requests."),
    upstream_key: Optional[str] = typer.Option(None, "--endpoint-api-key", help="API key for --endpoint."),
    served_name: Optional[str] = typer.Option(None, "--served-model-name", help="Model id reported by /v1/models."),
    max_batch_size: int = typer.Option(16, "--max-batch-size", help="Most requests answered by one model call."),
    batch_wait_ms: float = typer.Option(10.0, "--batch-wait-ms", help="How long to gather concurrent requests."),
    max_tokens_limit: int = typer.Option(4096, "--max-tokens-limit", help="Largest max_tokens a request may ask."),
    max_prompt_tokens: Optional[int] = typer.Option(None, "--max-prompt-tokens", help="Reject longer prompts."),
    max_request_bytes: int = typer.Option(1 << 20, "--max-request-bytes", help="Refuse larger request bodies "
                                          "(413) before reading them."),
    max_queue: int = typer.Option(256, "--max-queue", help="Most requests queued or running; more get 503 with "
                                  "Retry-After."),
    max_new_tokens: int = typer.Option(500, "--max-new-tokens", help="Default max_tokens when a request sets none."),
    temperature: float = typer.Option(0.3, "--temperature", help="Default temperature when a request sets none."),
    top_p: float = typer.Option(0.9, "--top-p", help="Default top_p when a request sets none."),
) -> None:
    """OpenAI-compatible HTTP server: /v1/chat/completions (plain and SSE streaming), /v1/models, /health.

    Example: taiyi serve --model runs/taiyi/merged --port 8000 --api-key $TAIYI_API_KEY
    """
    if engine_name == "vllm":
        import importlib.util
        import subprocess

        from taiyi.infer.server import vllm_server_command
        from taiyi.infer.vllm_engine import vllm_unavailable_reason

        reason = vllm_unavailable_reason()
        if reason or importlib.util.find_spec("vllm") is None:
            typer.echo(f"error: --engine vllm: {reason}", err=True)
            raise typer.Exit(2)
        if model is None:
            typer.echo("error: --engine vllm needs --model", err=True)
            raise typer.Exit(2)
        try:
            cmd = vllm_server_command(model, host=host, port=port, api_key=api_key, adapter=adapter,
                                      quantization=quantization, dtype=dtype, served_name=served_name)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo("starting vLLM: " + " ".join(cmd), err=True)
        raise typer.Exit(subprocess.call(cmd))

    import uvicorn

    from taiyi.infer.server import create_app

    engine = _engine(model, adapter, endpoint, engine_name, quantization, dtype, upstream_key, max_batch_size)
    if served_name:
        engine.model_name = served_name
    app = create_app(engine, api_key=api_key, defaults=_params(max_new_tokens, temperature, top_p, False),
                     max_batch_size=max_batch_size, batch_wait_ms=batch_wait_ms, max_tokens_limit=max_tokens_limit,
                     max_prompt_tokens=max_prompt_tokens, max_request_bytes=max_request_bytes, max_queue=max_queue)
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        typer.echo(f"warning: serving on {host} without --api-key: anyone who can reach it can use the model", err=True)
    typer.echo(f"serving {engine.model_name} on http://{host}:{port}/v1", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


def webui(
    model: Optional[str] = Model,
    adapter: Optional[str] = Adapter,
    endpoint: Optional[str] = Endpoint,
    backend: str = Backend,
    quantization: Optional[str] = Quant,
    dtype: str = Dtype,
    api_key: Optional[str] = ApiKey,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(7860, "--port", help="TCP port."),
    system: Optional[str] = typer.Option(None, "--system", help="System prompt (default: a Taiyi persona)."),
    history_tokens: int = typer.Option(2048, "--history-tokens", help="Token budget of the prompt."),
    max_new_tokens: int = MaxNew,
    temperature: float = Temp,
    top_p: float = TopP,
    greedy: bool = Greedy,
    repetition_penalty: float = RepPen,
) -> None:
    """Web chat page (Gradio) with the paper's example prompts (QA, NER, RE, translation; 中文 and English).

    Example: taiyi webui --model runs/taiyi/merged --port 7860
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from taiyi.infer.webui import DEFAULT_SYSTEM, launch_webui

    engine = _engine(model, adapter, endpoint, backend, quantization, dtype, api_key)
    launch_webui(engine, _params(max_new_tokens, temperature, top_p, greedy, repetition_penalty), host=host, port=port,
                 history_tokens=history_tokens, system=system or DEFAULT_SYSTEM, block=True)


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
    app.command("generate")(generate)
    app.command("serve")(serve)
    app.command("webui")(webui)
