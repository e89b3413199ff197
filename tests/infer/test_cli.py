from __future__ import annotations

import orjson
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.files import read_jsonl
from taiyi.infer.engine import GenerationParams

runner = CliRunner()
PARAMS = GenerationParams.greedy(max_new_tokens=6, repetition_penalty=5.0)
FLAGS = ["--greedy", "--max-new-tokens", "6", "--repetition-penalty", "5"]


def test_every_command_has_an_example():
    for cmd in ("chat", "generate", "serve", "webui"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0 and "Example: taiyi " + cmd in res.output, cmd


def test_chat_once_prints_the_answer(tiny_model_dir, engine):
    res = runner.invoke(app, ["chat", "--model", str(tiny_model_dir), "--once", "What is aspirin?", "--system",
                              "You are Taiyi.", *FLAGS])
    assert res.exit_code == 0, res.output
    want = engine.generate([[{"role": "system", "content": "You are Taiyi."},
                             {"role": "user", "content": "What is aspirin?"}]], PARAMS)[0]
    assert want.strip() and res.stdout == want + "\n"


def test_generate_command(tiny_model_dir, tmp_path):
    inp, out = tmp_path / "p.jsonl", tmp_path / "a.jsonl"
    inp.write_bytes(b"".join(orjson.dumps({"id": i, "prompt": f"prompt {i}"}) + b"\n" for i in range(3)))
    res = runner.invoke(app, ["generate", "--model", str(tiny_model_dir), "-i", str(inp), "-o", str(out), *FLAGS])
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in read_jsonl(out)] == [0, 1, 2] and all(r["answer"] for r in read_jsonl(out))
    res = runner.invoke(app, ["generate", "--model", str(tiny_model_dir), "-i", str(inp), "-o", str(out), *FLAGS])
    assert "0 answered, 3 already done" in res.output


def test_bad_input_is_reported_before_loading(tmp_path):
    inp = tmp_path / "p.jsonl"
    inp.write_text('{"id": 1, "prompt": "ok"}\n{"id": 2, "prompt": \n')
    res = runner.invoke(app, ["generate", "--model", "/nonexistent", "-i", str(inp), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "p.jsonl:2: malformed JSON" in res.output


def test_serve_vllm_says_why_it_cannot_run():
    from taiyi.infer.vllm_engine import vllm_unavailable_reason

    reason = vllm_unavailable_reason()
    if reason is None:
        import pytest

        pytest.skip("vllm and CUDA present")
    res = runner.invoke(app, ["serve", "--engine", "vllm", "--model", "Qwen/Qwen2.5-7B-Instruct"])
    assert res.exit_code == 2 and "--engine vllm:" in res.output and ("not installed" in res.output or "CUDA" in res.output)


def test_serve_command_runs_a_real_server(tiny_model_dir):
    """`taiyi serve` as a user starts it: a subprocess on a free loopback port, stopped at the end."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from taiyi.infer.server import free_port

    port = free_port()
    taiyi = Path(sys.executable).with_name("taiyi")
    proc = subprocess.Popen([str(taiyi), "serve", "--model", str(tiny_model_dir), "--port", str(port),
                             "--api-key", "k3y", "--max-new-tokens", "4", "--served-model-name", "taiyi-tiny"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up within 60 s"
            time.sleep(0.2)
        assert httpx.get(url + "/v1/models").status_code == 401
        r = httpx.post(url + "/v1/chat/completions", headers={"Authorization": "Bearer k3y"}, timeout=60,
                       json={"messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200 and r.json()["model"] == "taiyi-tiny"
        assert r.json()["usage"]["completion_tokens"] <= 4  # the server default --max-new-tokens applies
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
