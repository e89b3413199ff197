"""Concurrency helpers of the local (transformers) engine: a tokenizer pool and per-row cancellation.

Why a module of its own: the server's fault handling (a long prompt must not block short ones; a client that
leaves must not hold the model) needs both, and neither is about loading or running a model.
"""

from __future__ import annotations

import contextlib
import copy
import queue
import threading


class TokenizerPool:
    """Private copies of one fast tokenizer, lent one per caller.

    Why: the Rust tokenizer may not be entered from two threads at once, and one lock around it made every
    request wait while another's 2 MB prompt was tokenised. A few copies (made on first need) let tokenising
    run side by side; callers beyond ``size`` wait for a free copy, not for the longest job.
    """

    def __init__(self, tokenizer, size: int = 4) -> None:
        self._src, self._size, self._made = tokenizer, size, 0
        self._free: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def get(self):
        try:
            tok = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self._size
                self._made += int(make)
            tok = copy.deepcopy(self._src) if make else self._free.get()
        try:
            yield tok
        finally:
            self._free.put(tok)


def cancel_criteria(flags: list, any_of: bool = False):
    """A stopping criterion ending row ``r`` once ``flags[r]`` is set (``any_of``: ``flags[r]`` is a list of
    events, any of which ends it)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    def is_set(f) -> bool:
        return any(e.is_set() for e in f) if any_of else f.is_set()

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kw):
            return torch.tensor([is_set(f) for f in flags], dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Cancelled()])
