from __future__ import annotations

import orjson
import pytest

from taiyi.files import DataError, read_jsonl
from taiyi.infer.engine import GenerationParams
from taiyi.infer.generate import run_generate

PARAMS = GenerationParams.greedy(max_new_tokens=5, min_new_tokens=5, repetition_penalty=5.0)


def write(path, rows):
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def test_generate_and_resume(engine, tmp_path):
    inp, out = tmp_path / "prompts.jsonl", tmp_path / "answers.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"Question {i} about aspirin"} for i in range(5)]
    rows.append({"id": "m1", "messages": [{"role": "user", "content": "阿司匹林是什么？"},
                                           {"role": "assistant", "content": "gold answer, not sent"}]})
    write(inp, rows)
    calls = []
    real = engine.generate

    def counting(convs, params=None):
        calls.append(len(convs))
        assert all(c[-1]["role"] == "user" for c in convs)
        return real(convs, params)

    engine.generate = counting
    try:
        stats = run_generate(engine, inp, out, PARAMS, batch_size=2, progress=False)
        assert stats == {"input": 6, "skipped": 0, "generated": 6, "output": str(out)}
        first = list(read_jsonl(out))
        assert [r["id"] for r in first] == [r["id"] for r in rows]
        assert first[0]["answer"] == real([[{"role": "user", "content": rows[0]["prompt"]}]], PARAMS)[0]
        assert first[5]["messages"][1]["content"] == "gold answer, not sent"  # input fields are kept

        # simulate a run killed mid-write: two complete answers and a torn line
        out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in first[:2]) + b'{"id": "q2", "ans')
        calls.clear()
        stats = run_generate(engine, inp, out, PARAMS, batch_size=2, progress=False)
        assert stats["skipped"] == 2 and stats["generated"] == 4 and sum(calls) == 4
        again = list(read_jsonl(out))
        assert sorted(r["id"] for r in again) == sorted(r["id"] for r in rows)
        assert {r["id"]: r["answer"] for r in again} == {r["id"]: r["answer"] for r in first}

        calls.clear()
        assert run_generate(engine, inp, out, PARAMS, progress=False)["generated"] == 0 and calls == []
    finally:
        del engine.generate


@pytest.mark.parametrize("line, needle", [
    ({"prompt": "no id"}, "missing or invalid 'id'"),
    ({"id": "a"}, "needs a non-empty 'prompt'"),
    ({"id": "a", "messages": [{"role": "bot", "content": "x"}]}, "unknown role 'bot'"),
    ({"id": "a", "messages": [{"role": "assistant", "content": "x"}]}, "only an assistant turn"),
])
def test_bad_input_names_file_and_line(engine, tmp_path, line, needle):
    inp = tmp_path / "in.jsonl"
    write(inp, [{"id": "ok", "prompt": "fine"}, line])
    with pytest.raises(DataError, match=rf"in\.jsonl:2: .*{needle}"):
        run_generate(engine, inp, tmp_path / "out.jsonl", PARAMS, progress=False)
    assert not (tmp_path / "out.jsonl").exists() or (tmp_path / "out.jsonl").read_bytes() == b""


def test_duplicate_ids_are_rejected(engine, tmp_path):
    inp = tmp_path / "in.jsonl"
    write(inp, [{"id": "x", "prompt": "a"}, {"id": "y", "prompt": "b"}, {"id": "x", "prompt": "c"}])
    with pytest.raises(DataError, match=r"in\.jsonl:3: duplicate id 'x' \(first on line 1\)"):
        run_generate(engine, inp, tmp_path / "out.jsonl", PARAMS, progress=False)
