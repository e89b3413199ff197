from __future__ import annotations

import threading

import httpx
import pytest

from taiyi.infer.engine import GenerationParams
from taiyi.infer.server import ServerThread, create_app

DEFAULTS = GenerationParams.greedy(max_new_tokens=8, repetition_penalty=5.0)
MSGS = [{"role": "system", "content": "You are Taiyi."}, {"role": "user", "content": "What is asthma?"}]


@pytest.fixture(scope="module")
def server(engine):
    app = create_app(engine, defaults=DEFAULTS, batch_wait_ms=50, max_batch_size=16, max_tokens_limit=64)
    with ServerThread(app) as srv:
        srv.app = app
        yield srv


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    with OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60) as c:
        yield c


def expected(engine, messages, n=8):
    return engine.generate([messages], DEFAULTS.replace(max_new_tokens=n))[0]


def test_openai_client_plain(client, engine):
    resp = client.chat.completions.create(model=engine.model_name, messages=MSGS, max_tokens=8, temperature=0)
    assert resp.choices[0].message.content == expected(engine, MSGS)
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 8 and resp.usage.prompt_tokens == engine.count_tokens(MSGS)
    assert resp.model == engine.model_name
    assert [m.id for m in client.models.list().data] == [engine.model_name]


def test_openai_client_streaming(client, engine):
    chunks = list(client.chat.completions.create(model="any", messages=MSGS, max_tokens=8, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert text == expected(engine, MSGS)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.prompt_tokens == engine.count_tokens(MSGS)


def test_n_choices_and_sampling(client):
    resp = client.chat.completions.create(model="m", messages=MSGS, max_tokens=4, n=3, temperature=0.9, top_p=0.9)
    assert len(resp.choices) == 3 and [c.index for c in resp.choices] == [0, 1, 2]


BAD = [
    (b"{not json", "not valid JSON", None),
    (b'{"messages": []}', "must not be empty", "messages"),
    (b'{"messages": [{"role": "wizard", "content": "hi"}]}', "unknown role 'wizard'", "messages[0].role"),
    (b'{"messages": [{"role": "user", "content": 5}]}', "content", "messages[0].content"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": 3}', "temperature", "temperature"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "top_p": 0}', "top_p", "top_p"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens", "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000}', "max_tokens", "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "n": 0}', "'n'", "n"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "n": 99}', "'n'", "n"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "stop": 7}', "stop", "stop"),
    (b'[1, 2]', "JSON object", None),
]


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server, engine):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for body, needle, param in BAD:
            r = http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400, (body, r.text)
            err = r.json()["error"]
            assert needle in err["message"] and err["type"] == "invalid_request_error", (body, err)
            assert err["param"] == param
        long = {"messages": [{"role": "user", "content": "aspirin " * (engine.max_context + 50)}]}
        r = http.post("/v1/chat/completions", json=long)
        assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
        assert "maximum context length" in r.json()["error"]["message"]
        r = http.get("/v1/nothing-here")
        assert r.status_code == 404 and "error" in r.json()
        assert http.get("/health").json()["status"] == "ok"
        ok = http.post("/v1/chat/completions", json={"messages": MSGS, "max_tokens": 8, "temperature": 0})
        assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == expected(engine, MSGS)


def test_concurrent_requests_are_batched(server, client, engine):
    prompts = [[{"role": "user", "content": f"Question {i}: what treats disease number {i}?" + " more" * i}]
               for i in range(8)]
    calls = []
    real = engine.generate_full

    def counting(convs, params, **kw):
        calls.append(len(convs))
        return real(convs, params, **kw)

    answers = [None] * len(prompts)
    barrier = threading.Barrier(len(prompts))

    def ask(i):
        barrier.wait()
        r = client.chat.completions.create(model="m", messages=prompts[i], max_tokens=6, temperature=0)
        answers[i] = r.choices[0].message.content

    engine.generate_full = counting
    try:
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        del engine.generate_full
    assert sum(calls) == len(prompts)
    assert len(calls) < len(prompts) and max(calls) > 1, f"requests were not batched: {calls}"
    assert answers == [expected(engine, p, 6) for p in prompts]


def test_api_key(engine):
    from fastapi.testclient import TestClient

    app = create_app(engine, api_key="s3cret", defaults=DEFAULTS)
    with TestClient(app) as http:
        assert http.get("/health").status_code == 200  # liveness probes need no key
        r = http.get("/v1/models")
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert http.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = http.post("/v1/chat/completions", json={"messages": MSGS, "max_tokens": 3},
                      headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3


def test_vllm_server_command():
    from taiyi.infer.server import vllm_server_command

    cmd = vllm_server_command("Qwen/Qwen2.5-7B-Instruct", host="127.0.0.1", port=8000, api_key="k",
                              adapter="runs/x/stage2/adapter", quantization="4bit")
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--api-key") + 1] == "k" and "--enable-lora" in cmd
    assert cmd[cmd.index("--quantization") + 1] == "bitsandbytes"


def test_openai_engine_drives_the_server(server, engine):
    """The `openai` backend: the same Engine calls against a remote endpoint (here our own server)."""
    from taiyi.infer.engine import EngineError, load_engine

    remote = load_engine(endpoint=server.url + "/v1", api_key="unused")
    assert remote.model_name == engine.model_name  # taken from /v1/models
    convs = [MSGS, [{"role": "user", "content": "阿司匹林是什么？"}], [{"role": "user", "content": "hi"}]]
    params = DEFAULTS.replace(max_new_tokens=6)
    assert remote.generate(convs, params) == engine.generate(convs, params)
    full = remote.generate_full(convs[:1], params)[0]
    assert full.completion_tokens == 6 and full.finish_reason == "length"
    assert "".join(remote.stream(MSGS, params)) == engine.generate([MSGS], params)[0]
    assert remote.count_tokens(MSGS) > 0
    with pytest.raises(EngineError, match="loglikelihood|log-likelihood"):
        remote.loglikelihood([(MSGS, "yes")])
    with pytest.raises(EngineError, match="request failed"):
        remote.generate([[{"role": "user", "content": "x" * 20000}]], params)
    remote.close()


def test_micro_batcher_waits_only_for_requests_on_their_way():
    import time

    from taiyi.infer.engine import Completion, Engine
    from taiyi.infer.server import MicroBatcher

    class Echo(Engine):
        def __init__(self):
            self.calls = []

        def generate_full(self, conversations, params=None):
            self.calls.append(len(conversations))
            return [Completion(c[-1]["content"].upper()) for c in conversations]

    eng = Echo()
    b = MicroBatcher(eng, max_batch=8, wait_ms=2000)
    try:
        t = time.monotonic()
        assert b.submit([{"role": "user", "content": "a"}], DEFAULTS).future.result(timeout=5).text == "A"
        assert time.monotonic() - t < 1.0, "a lone request must not wait out the batching window"
        with b.arriving():  # a second request is being validated: the first one waits for it
            f1 = b.submit([{"role": "user", "content": "b"}], DEFAULTS)
            time.sleep(0.2)
            f2 = b.submit([{"role": "user", "content": "c"}], DEFAULTS)
        assert [f1.future.result(timeout=5).text, f2.future.result(timeout=5).text] == ["B", "C"]
        g1 = b.submit([{"role": "user", "content": "d"}], DEFAULTS.replace(max_new_tokens=3))
        assert g1.future.result(timeout=5).text == "D"
        assert eng.calls == [1, 2, 1]
        with b.arriving():  # a request abandoned (client gone) before its batch starts is never generated
            h1 = b.submit([{"role": "user", "content": "e"}], DEFAULTS)
            h2 = b.submit([{"role": "user", "content": "f"}], DEFAULTS)
            h1.abandon()
        assert h2.future.result(timeout=5).text == "F" and h1.future.cancelled()
        assert eng.calls == [1, 2, 1, 1] and b.cancelled == 1
    finally:
        b.close()
