"""The server under faults: clients that disconnect, oversized bodies and prompts, a full queue, and usage
figures of streamed answers. The real tiny HF engine runs every case; a slowed forward pass (5 ms per token)
makes answers long enough to disconnect from."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from taiyi.infer.engine import GenerationParams
from taiyi.infer.server import ServerThread, create_app

DEFAULTS = GenerationParams.greedy(max_new_tokens=8, repetition_penalty=5.0)
MSGS = [{"role": "user", "content": "What is asthma?"}]


@pytest.fixture()
def slow(engine, monkeypatch):
    """The engine with a 5 ms sleep in every forward pass, and a log of every generate_full result."""
    forward = engine.model.forward

    def slowed(*a, **kw):
        time.sleep(0.005)
        return forward(*a, **kw)

    monkeypatch.setattr(engine.model, "forward", slowed)
    log = []
    real = engine.generate_full

    def logged(convs, params=None, **kw):
        out = real(convs, params, **kw)
        log.append(out)
        return out

    monkeypatch.setattr(engine, "generate_full", logged)
    engine.log = log
    yield engine
    del engine.log


def _serve(engine, **kw):
    kw.setdefault("defaults", DEFAULTS)
    return ServerThread(create_app(engine, **kw))


def _wait_idle(http, timeout=5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        h = http.get("/health").json()
        if h["load"] == 0 or time.monotonic() > deadline:
            return h
        time.sleep(0.02)


def test_disconnected_plain_request_stops_its_generation(slow):
    with _serve(slow, batch_wait_ms=1) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        t = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):  # the client gives up after 0.5 s of a ~10 s answer
            httpx.post(srv.url + "/v1/chat/completions", timeout=0.5,
                       json={"messages": MSGS, "max_tokens": 1800, "temperature": 0})
        health = _wait_idle(http)
        assert health["load"] == 0 and health["cancelled"] >= 1, health
        assert time.monotonic() - t < 3, "generation went on after the client left"
        assert slow.log[-1][0].completion_tokens < 1000  # stopped early, not run to max_tokens
        t = time.monotonic()
        r = http.post("/v1/chat/completions", json={"messages": MSGS, "max_tokens": 4, "temperature": 0})
        assert r.status_code == 200 and time.monotonic() - t < 2  # the next request does not wait


def test_disconnected_stream_stops_its_generation(slow):
    with _serve(slow) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        t = time.monotonic()
        body = {"messages": MSGS, "max_tokens": 1800, "temperature": 0, "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            lines = r.iter_lines()
            got = [next(lines) for _ in range(6)]  # a few chunks, then hang up
        assert any('"content"' in g for g in got)
        assert _wait_idle(http)["load"] == 0
        assert time.monotonic() - t < 3, "the stream's generation went on after the client left"
        t = time.monotonic()
        r = http.post("/v1/chat/completions", json={"messages": MSGS, "max_tokens": 4, "temperature": 0})
        assert r.status_code == 200 and time.monotonic() - t < 2


def test_oversized_body_and_prompt_are_refused_before_tokenising(engine, monkeypatch):
    calls = []
    real = engine.count_tokens
    monkeypatch.setattr(engine, "count_tokens", lambda m: calls.append(1) or real(m))
    with _serve(engine, max_prompt_tokens=100) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        t = time.monotonic()
        huge = {"messages": [{"role": "user", "content": "阿司匹林 aspirin " * 150_000}]}  # ~3 MB of JSON
        r = http.post("/v1/chat/completions", json=huge)
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
        long = {"messages": [{"role": "user", "content": "aspirin " * 2000}]}  # 16 k chars > 100 tokens for sure
        r = http.post("/v1/chat/completions", json=long)
        assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
        assert time.monotonic() - t < 1.5 and calls == [], "refused only after tokenising"
        r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "aspirin " * 300}]})
        assert r.status_code == 400 and "accepts at most 100" in r.json()["error"]["message"] and calls == [1]
        assert http.post("/v1/chat/completions", json={"messages": MSGS}).status_code == 200


def test_a_long_tokenisation_does_not_block_a_short_one(engine):
    big = [{"role": "user", "content": "阿司匹林 aspirin " * 60_000}]
    done = {}

    def count(name, msgs):
        t = time.monotonic()
        engine.count_tokens(msgs)
        done[name] = time.monotonic() - t

    th = threading.Thread(target=count, args=("big", big))
    th.start()
    time.sleep(0.05)
    count("small", MSGS)
    th.join()
    assert done["small"] < done["big"] / 3, done  # behind one lock the short one would wait for the long one


def test_full_queue_answers_503_with_retry_after(slow):
    with _serve(slow, max_queue=2, batch_wait_ms=1) as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        body = {"messages": MSGS, "max_tokens": 150, "temperature": 0}
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(http.post("/v1/chat/completions", json=body)
                                                                .status_code)) for _ in range(2)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 10
        while http.get("/health").json()["load"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        r = http.post("/v1/chat/completions", json=body)
        assert r.status_code == 503 and r.json()["error"]["code"] == "server_overloaded"
        assert int(r.headers["Retry-After"]) >= 1
        r = http.post("/v1/chat/completions", json={**body, "stream": True})  # streams take a place too
        assert r.status_code == 503 and "Retry-After" in r.headers
        for th in threads:
            th.join()
        assert codes == [200, 200]
        assert http.post("/v1/chat/completions", json={"messages": MSGS}).status_code == 200


def test_streaming_usage_counts_generated_tokens(engine):
    with _serve(engine) as srv:
        from openai import OpenAI

        with OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0) as client:
            for n in (3, 8, 17):
                chunks = list(client.chat.completions.create(
                    model="m", messages=MSGS, max_tokens=n, temperature=0, stream=True,
                    stream_options={"include_usage": True}))
                plain = client.chat.completions.create(model="m", messages=MSGS, max_tokens=n, temperature=0)
                assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens == n
                assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_openai_arguments_known_ignored_unknown_refused(engine):
    from fastapi.testclient import TestClient

    with TestClient(create_app(engine, defaults=DEFAULTS)) as http:
        ok = {"messages": MSGS, "user": "u1", "metadata": {"k": "v"}, "stream_options": None, "n": 1,
              "frequency_penalty": 0, "response_format": {"type": "text"}, "messages_extra": None}
        r = http.post("/v1/chat/completions", json={k: v for k, v in ok.items() if k != "messages_extra"})
        assert r.status_code == 200, r.text
        for bad, param in [({"max_token": 5}, "max_token"), ({"tools": [{"type": "function"}]}, "tools"),
                           ({"logprobs": True}, "logprobs"), ({"presence_penalty": 0.5}, "presence_penalty"),
                           ({"response_format": {"type": "json_object"}}, "response_format")]:
            r = http.post("/v1/chat/completions", json={"messages": MSGS, **bad})
            assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
        r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x", "colour": 1}]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].colour"
