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
