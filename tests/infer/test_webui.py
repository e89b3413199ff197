from __future__ import annotations

import os
import time

import pytest

from taiyi.infer.engine import GenerationParams
from taiyi.infer.webui import DEFAULT_SYSTEM, EXAMPLES, history_messages

PARAMS = GenerationParams.greedy(max_new_tokens=12, repetition_penalty=5.0)


def _alnum(text: str) -> str:
    """Letters and digits only: markdown rendering may reflow whitespace and punctuation, never these."""
    return "".join(ch for ch in text if ch.isalnum())


def test_examples_cover_the_papers_tasks_in_both_languages():
    labels = " ".join(label for label, _ in EXAMPLES)
    for task in ("QA", "NER", "RE"):
        assert f"{task} · 中文" in labels and f"{task} · English" in labels
    assert "翻译" in labels and "Translation" in labels


def test_history_messages_accepts_gradio_formats():
    hist = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]
    assert history_messages(hist) == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    assert history_messages([["a", "b"]]) == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


LAST_BOT = ("(() => { const b = document.querySelectorAll('[data-testid=\"bot\"]');"
            " return b.length ? b[b.length - 1].innerText : ''; })()")


def _wait_for_answer(browser, want: str, n_bots: int, timeout: float = 60.0) -> str:
    """Wait until the page shows ``n_bots`` answers and the last one is ``want`` (streaming fills it in)."""
    browser.wait_for(f"document.querySelectorAll('[data-testid=\"bot\"]').length >= {n_bots}", timeout=timeout)
    deadline = time.monotonic() + timeout
    shown = browser.evaluate(LAST_BOT)
    while _alnum(shown) != _alnum(want) and time.monotonic() < deadline:
        time.sleep(0.2)
        shown = browser.evaluate(LAST_BOT)
    return shown


def _chromium(headless_chromium) -> str:
    """The browser binary; CI (TAIYI_REQUIRE_BROWSER=1, set by .ci/run after `make browser`) fails without it."""
    binary = headless_chromium.chromium_binary()
    if binary is None:
        if os.environ.get("TAIYI_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail("chromium is required here (TAIYI_REQUIRE_BROWSER is set): run `make browser`")
        pytest.skip("chromium is not installed (make browser, or apt-get install -y chromium fonts-noto-cjk)")
    return binary


def test_webui_in_headless_chromium(engine, tmp_path, headless_chromium):
    binary = _chromium(headless_chromium)
    from taiyi.infer.server import free_port
    from taiyi.infer.webui import launch_webui

    label, example = next((lab, p) for lab, p in EXAMPLES if lab == "NER · English")
    system = {"role": "system", "content": DEFAULT_SYSTEM}
    want1 = engine.generate([[system, {"role": "user", "content": example}]], PARAMS)[0]
    question = "What is asthma? 哮喘是什么？"
    # the second turn is answered with the first exchange in its history
    want2 = engine.generate([[system, {"role": "user", "content": example}, {"role": "assistant", "content": want1},
                              {"role": "user", "content": question}]], PARAMS)[0]
    no_history = engine.generate([[system, {"role": "user", "content": question}]], PARAMS)[0]
    assert _alnum(want1) and _alnum(want2) and _alnum(want2) not in (_alnum(want1), _alnum(no_history))
    port = free_port()
    demo = launch_webui(engine, PARAMS, port=port, block=False)
    browser = headless_chromium.Chromium(binary)
    try:
        browser.navigate(f"http://127.0.0.1:{port}/")
        browser.wait_for("!!document.querySelector('textarea')", timeout=60)
        assert browser.evaluate("document.body.innerText").count("NER") >= 2  # the example prompts are on the page
        browser.screenshot(tmp_path / "webui-examples.png")

        # 1. click an example: it is sent as the first message
        clicked = browser.evaluate(
            "(() => { const el = Array.from(document.querySelectorAll('button'))"
            f".find(b => b.innerText.trim() === {label!r}); if (!el) return false; el.click(); return true; }})()")
        assert clicked, f"example button {label!r} not found"
        assert _alnum(_wait_for_answer(browser, want1, 1)) == _alnum(want1)
        assert "Famotidine" in browser.evaluate("document.querySelector('[data-testid=\"user\"]').innerText")

        # 2. type a follow-up question: answered with the history
        browser.evaluate("document.querySelector('textarea').focus()")
        browser.type_text(question)
        browser.press_enter()
        assert _alnum(_wait_for_answer(browser, want2, 2)) == _alnum(want2)
        users = browser.evaluate("Array.from(document.querySelectorAll('[data-testid=\"user\"]')).map(u => u.innerText)")
        assert len(users) == 2 and "asthma" in users[1]

        shot = tmp_path / "webui.png"
        browser.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    finally:
        browser.close()
        demo.close()


class _FailsMidAnswer:
    """The real engine's tokenizer and first tokens, then a failure (as a GPU running out of memory would)."""

    def __init__(self, engine):
        self.engine, self.model_name = engine, engine.model_name

    def count_tokens(self, messages):
        return self.engine.count_tokens(messages)

    def stream(self, messages, params=None):
        yield "Asthma is a chronic"
        time.sleep(0.3)
        raise RuntimeError("CUDA out of memory (simulated)")


def test_webui_shows_a_failure_mid_answer(engine, headless_chromium):
    binary = _chromium(headless_chromium)
    from taiyi.infer.server import free_port
    from taiyi.infer.webui import launch_webui

    port = free_port()
    demo = launch_webui(_FailsMidAnswer(engine), PARAMS, port=port, block=False)
    browser = headless_chromium.Chromium(binary)
    try:
        browser.navigate(f"http://127.0.0.1:{port}/")
        browser.wait_for("!!document.querySelector('textarea')", timeout=60)
        browser.evaluate("document.querySelector('textarea').focus()")
        browser.type_text("What is asthma?")
        browser.press_enter()
        browser.wait_for("document.body.innerText.includes('CUDA out of memory (simulated)')", timeout=60)
        body = browser.evaluate("document.body.innerText")
        assert "The model failed mid-answer" in body
        assert "Asthma is a chronic" in browser.evaluate(LAST_BOT)  # the partial answer stays visible
    finally:
        browser.close()
        demo.close()
