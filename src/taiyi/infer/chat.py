"""Multi-turn chat sessions: the conversation state and the terminal loop behind ``taiyi chat``.

Why: a chat must keep its history inside the model's context — dropping the oldest turns first and never the
system prompt — and the same session logic serves the terminal, the web page and scripts (``--once``).
"""

from __future__ import annotations

import sys
from typing import Callable, Iterator, TextIO

from taiyi.infer.engine import Engine, GenerationParams, Message

HELP = "Commands: /reset (clear history), /system TEXT (set the system prompt), /exit (quit)."


def truncate_history(
    system: str | None,
    history: list[Message],
    budget: int,
    count_tokens: Callable[[list[Message]], int],
) -> list[Message]:
    """The messages to send: system prompt + the newest turns whose prompt fits in ``budget`` tokens.

    Whole exchanges are dropped from the oldest end (a user turn together with the answers that follow it), so
    the model never sees an answer without its question. The last user turn is always kept, even when it alone
    exceeds the budget (the engine then reports the prompt as too long).
    """
    head = [{"role": "system", "content": system}] if system else []
    starts = [i for i, m in enumerate(history) if m["role"] == "user"] or [0]
    for s in starts:  # oldest first: the first start that fits keeps the most history
        msgs = head + history[s:]
        if count_tokens(msgs) <= budget:
            return msgs
    return head + history[starts[-1]:]


class ChatSession:
    """One conversation with a model: history, system prompt and token budget."""

    def __init__(
        self,
        engine: Engine,
        *,
        system: str | None = None,
        params: GenerationParams | None = None,
        history_tokens: int = 2048,
    ) -> None:
        self.engine = engine
        self.system = system
        self.params = params or GenerationParams()
        self.history: list[Message] = []
        self.history_tokens = history_tokens

    def reset(self) -> None:
        self.history = []

    def prompt(self, user_text: str) -> list[Message]:
        """The messages that would be sent for a new user turn (history truncated to the budget)."""
        history = self.history + [{"role": "user", "content": user_text}]
        return truncate_history(self.system, history, self.history_tokens, self.engine.count_tokens)

    def stream(self, user_text: str) -> Iterator[str]:
        """Send a user turn and yield the answer's deltas; the exchange joins the history when complete."""
        messages = self.prompt(user_text)
        parts: list[str] = []
        for delta in self.engine.stream(messages, self.params):
            parts.append(delta)
            yield delta
        # keep only what was sent (already truncated) so the history never grows past the budget
        self.history = [m for m in messages if m["role"] != "system"]
        self.history.append({"role": "assistant", "content": "".join(parts)})

    def ask(self, user_text: str) -> str:
        return "".join(self.stream(user_text))


def run_repl(session: ChatSession, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """The interactive loop: read a line, handle /commands, stream the answer."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        stdout.write(f"Chatting with {session.engine.model_name}. {HELP}\n")
    while True:
        if interactive:
            stdout.write("\n>>> ")
            stdout.flush()
        line = stdin.readline()
        if not line:  # EOF
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            session.reset()
            stdout.write("[history cleared]\n")
            continue
        if text == "/system" or text.startswith("/system "):
            session.system = text[len("/system"):].strip() or None
            session.reset()
            stdout.write(f"[system prompt {'set' if session.system else 'removed'}; history cleared]\n")
            continue
        if text.startswith("/"):
            stdout.write(f"[unknown command {text.split()[0]}] {HELP}\n")
            continue
        for delta in session.stream(text):
            stdout.write(delta)
            stdout.flush()
        stdout.write("\n")
        stdout.flush()
