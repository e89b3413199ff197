"""Micro-batching and admission control for ``taiyi serve``.

Why: concurrent requests answered by one batched ``engine.generate_full`` call are several times faster than
one after another; but a server must also stay responsive when overloaded or when clients walk away. So:
  * the queue is bounded (``max_queue`` admitted requests, waiting or running, streaming included); beyond
    that a request is refused at once with a ``Retry-After`` estimate instead of waiting without limit;
  * every request carries a cancel flag: a request whose client left before its batch started is skipped,
    and one that is being generated stops at the next token (engines with ``supports_cancel``), so a
    disconnected client no longer holds the model for the rest of its answer.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from taiyi.infer.engine import Engine, GenerationParams, Message


class Overloaded(RuntimeError):
    """The admission queue is full; ``retry_after`` is a whole number of seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Ticket:
    """One submitted request: its future and its cancel flag (set when the client disconnects)."""

    messages: list[Message]
    params: GenerationParams
    future: Future = field(default_factory=Future)
    cancel: threading.Event = field(default_factory=threading.Event)

    def abandon(self) -> None:
        """The client is gone: skip the request if not started, stop it at the next token if running."""
        self.cancel.set()
        self.future.cancel()


class MicroBatcher:
    """Collects requests for up to ``wait_ms`` (or until ``max_batch``) and answers them with one engine call.

    One worker thread owns the engine calls. While a batch runs, new requests queue up and form the next batch,
    so under load batches fill without any waiting. The window is only waited out while other requests are
    known to be on their way (``arriving``: received, still being validated/tokenised), so a lone request is
    answered at once. Requests with different decoding settings are split into groups (one ``generate_full``
    call per distinct ``GenerationParams``).
    """

    def __init__(self, engine: Engine, max_batch: int = 16, wait_ms: float = 10.0, max_queue: int = 256) -> None:
        self.engine = engine
        self.max_batch = max(1, int(max_batch))
        self.wait_s = max(0.0, wait_ms) / 1000.0
        self.max_queue = max(1, int(max_queue))
        self._queue: queue.Queue = queue.Queue()
        self.batches = 0  # engine calls made (for /health and tests)
        self.cancelled = 0  # requests skipped or stopped because their client left
        self.refused = 0  # requests refused because the queue was full
        self._arriving = 0
        self._admitted = 0
        self._lock = threading.Lock()
        self._batch_s = 1.0  # running mean of one engine call's duration (for Retry-After)
        self._thread = threading.Thread(target=self._loop, name="taiyi-batcher", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ admission
    @contextlib.contextmanager
    def admitted(self):
        """Hold one of ``max_queue`` places for the life of a request; raise Overloaded when none is free."""
        with self._lock:
            if self._admitted >= self.max_queue:
                self.refused += 1
                raise Overloaded(f"the server is busy ({self._admitted} requests queued or running, limit "
                                 f"{self.max_queue}); retry later", self.retry_after())
            self._admitted += 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queued batches ahead times the mean batch time."""
        batches_ahead = math.ceil(max(1, self._admitted) / self.max_batch)
        return int(min(60, max(1, math.ceil(batches_ahead * self._batch_s))))

    @property
    def load(self) -> int:
        return self._admitted

    @contextlib.contextmanager
    def arriving(self):
        """Mark a request that will be submitted shortly (the batcher waits for it, up to the window)."""
        with self._lock:
            self._arriving += 1
        try:
            yield
        finally:
            with self._lock:
                self._arriving -= 1

    # ------------------------------------------------------------------ batching
    def submit(self, messages: list[Message], params: GenerationParams) -> Ticket:
        ticket = Ticket(messages, params)
        self._queue.put(ticket)
        return ticket

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _collect(self, first: Ticket) -> tuple[list[Ticket], bool]:
        batch, closing = [first], False
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch:
            try:  # take what is already waiting at once; then wait out the window for more
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or self._arriving == 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is None:
                closing = True
                break
            batch.append(item)
        return batch, closing

    def _run(self, params: GenerationParams, tickets: list[Ticket]) -> None:
        live = [t for t in tickets if t.future.set_running_or_notify_cancel()]
        self.cancelled += len(tickets) - len(live)
        if not live:
            return
        kw = {"cancel": [t.cancel for t in live]} if getattr(self.engine, "supports_cancel", False) else {}
        start = time.monotonic()
        try:
            self.batches += 1
            results = self.engine.generate_full([t.messages for t in live], params, **kw)
        except BaseException as exc:  # every waiting request learns of the failure
            for t in live:
                t.future.set_exception(exc)
            return
        finally:
            self._batch_s = 0.8 * self._batch_s + 0.2 * (time.monotonic() - start)
        self.cancelled += sum(1 for t in live if t.cancel.is_set())
        for t, res in zip(live, results):
            t.future.set_result(res)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, closing = self._collect(first)
            groups: dict[GenerationParams, list[Ticket]] = {}
            for t in batch:
                groups.setdefault(t.params, []).append(t)
            for params, tickets in groups.items():
                self._run(params, tickets)
            if closing:
                return

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
