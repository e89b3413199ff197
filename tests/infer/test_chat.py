from __future__ import annotations

import io

from taiyi.infer.chat import ChatSession, run_repl, truncate_history
from taiyi.infer.engine import GenerationParams


def words(msgs):
    """A stand-in token counter: one token per word plus 2 per message."""
    return sum(len(m["content"].split()) + 2 for m in msgs)


def turns(n):
    out = []
    for i in range(n):
        out += [{"role": "user", "content": f"question {i} " + "x " * 5}, {"role": "assistant", "content": f"answer {i} " + "y " * 5}]
    return out


def test_truncation_keeps_newest_turns_and_system_within_budget():
    hist = turns(6) + [{"role": "user", "content": "final question"}]
    for budget in (10, 30, 50, 70):
        msgs = truncate_history("be brief", hist, budget, words)
        assert msgs[0] == {"role": "system", "content": "be brief"}
        assert msgs[-1]["content"] == "final question"
        assert words(msgs) <= budget
        kept = msgs[1:]
        assert kept == hist[len(hist) - len(kept):], "a suffix of the history: newest turns, oldest dropped first"
        assert kept[0]["role"] == "user", "whole exchanges are dropped, never an answer without its question"
        # one more exchange would not fit
        bigger = hist[len(hist) - len(kept) - 2:]
        assert len(kept) == len(hist) or words([msgs[0]] + bigger) > budget
    assert truncate_history(None, hist, 10_000, words) == hist
    # the newest user turn is kept even alone over budget
    assert truncate_history("s", hist, 3, words)[1:] == hist[-1:]


def test_session_history_stays_within_budget(engine):
    params = GenerationParams.greedy(max_new_tokens=6, min_new_tokens=6, repetition_penalty=5.0)
    s = ChatSession(engine, system="You are Taiyi.", params=params, history_tokens=90)
    for i in range(6):
        ans = s.ask(f"Turn {i}: tell me about aspirin and 阿司匹林.")
        assert ans
        assert s.history[-1] == {"role": "assistant", "content": ans}
        assert engine.count_tokens([{"role": "system", "content": "You are Taiyi."}] + s.history[:-1]) <= 90
    assert s.history[0]["content"].startswith("Turn") and not s.history[0]["content"].startswith("Turn 0")
    s.reset()
    assert s.history == []


def test_repl_commands(engine):
    params = GenerationParams.greedy(max_new_tokens=4, min_new_tokens=4, repetition_penalty=5.0)
    s = ChatSession(engine, params=params)
    out = io.StringIO()
    run_repl(s, io.StringIO("hello\n/system You are a nurse.\n/bogus\nhi again\n/reset\n/exit\nnever read\n"), out)
    text = out.getvalue()
    assert "[system prompt set; history cleared]" in text and "[unknown command /bogus]" in text
    assert "[history cleared]" in text
    assert s.system == "You are a nurse." and s.history == []
