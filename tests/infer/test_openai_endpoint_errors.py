"""``taiyi eval --endpoint`` against a loopback HTTP server playing a broken or locked OpenAI-compatible API:
the key is sent (``--api-key`` or OPENAI_API_KEY); 500s and empty replies are retried, then the item counts as
failed and a re-run into the same --out answers it; an unreachable endpoint and a 401 are one-line errors."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.files import read_json
from tests.evaluate.eval_fakes import write_eval_dir


class Api(BaseHTTPRequestHandler):
    mode = "ok"  # ok | 500 | empty
    key = "secret"
    calls = 0

    def log_message(self, *a):
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        type(self).calls += 1
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != f"Bearer {self.key}":
            return self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
        if self.mode == "500":
            return self._send(500, {"error": {"message": "boom"}})
        text = req["messages"][-1]["content"]
        answer = "The answer is yes." if "NSAID" in text else "Answer: (B)" if "water" in text else "None"
        choices = [] if self.mode == "empty" else [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": choices,
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Api.mode, Api.calls = "ok", 0
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def _eval(tmp_path, endpoint, *extra):
    args = ["eval", "--endpoint", endpoint, "--model", "m", "--benchmarks", "PubMedQA", "--eval-dir",
            str(write_eval_dir(tmp_path)), "--out", str(tmp_path / "out"), "--no-progress", *extra]
    return CliRunner().invoke(app, args)


def test_key_is_sent_and_answers_are_read(server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    res = _eval(tmp_path, server, "--api-key", "secret")
    assert res.exit_code == 0, res.output
    assert read_json(tmp_path / "out" / "scores.json")["benchmarks"]["PubMedQA"]["score"] == 100.0
    monkeypatch.setenv("OPENAI_API_KEY", "secret")
    assert _eval(tmp_path / "env", server).exit_code == 0


def test_rejected_key_and_unreachable_endpoint_are_one_line_errors(server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    res = _eval(tmp_path, server, "--api-key", "wrong")
    assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit)
    assert res.output.strip().count("\n") == 0 and "key was rejected (HTTP 401)" in res.output, res.output
    res = _eval(tmp_path / "u", "http://127.0.0.1:9/v1", "--api-key", "secret")
    assert res.exit_code == 2 and "cannot reach the endpoint" in res.output, res.output
    assert res.output.strip().count("\n") == 0 and "Traceback" not in res.output


@pytest.mark.parametrize("mode", ["500", "empty"])
def test_server_errors_fail_the_item_and_a_rerun_continues(server, tmp_path, mode):
    Api.mode = mode
    res = _eval(tmp_path, server, "--api-key", "secret")
    assert res.exit_code == 0, res.output
    r = read_json(tmp_path / "out" / "scores.json")["benchmarks"]["PubMedQA"]
    assert r["score"] == 0.0 and r["parse_failures"] == 2
    assert all("transient" in e["error"] for e in r["parse_failure_examples"])
    if mode == "500":
        assert Api.calls >= 4  # retried before giving up
    Api.mode = "ok"
    res = _eval(tmp_path, server, "--api-key", "secret")
    assert res.exit_code == 0, res.output
    assert read_json(tmp_path / "out" / "scores.json")["benchmarks"]["PubMedQA"]["score"] == 100.0
