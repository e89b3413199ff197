"""Exact and near-duplicate removal of training instructions.

Why: the 140 sources overlap (CMeEE v1/v2, corpora re-annotating the same abstracts, QA sites copying each
other); duplicates over-weight some content and waste compute. Exact duplicates are found by a hash of the
normalised messages; near duplicates by MinHash LSH (``datasketch``) over character n-gram shingles, which
work for Chinese (no word boundaries) and English alike.

Near duplicates are judged on *content* (source text + answer, per task), not on the prompt, so that the
several prompts one record yields (different templates, per-type variants) are never taken as duplicates
of each other: matches from the same source record are ignored.
"""

from __future__ import annotations

import hashlib

import numpy as np
from datasketch import MinHash, MinHashLSH

from taiyi.text import normalise as text_normalise

SCHEME = "affine32"  # datasketch 2 hash scheme; signatures are rebuilt from stored values with it


def normalise(text: str) -> str:
    """The dedup key of a text: ``taiyi.text.normalise`` with ``str.lower`` (kept: stored keys depend on it)."""
    return text_normalise(text, casefold=False)


def exact_key(messages: list[dict]) -> bytes:
    """16-byte hash of the normalised conversation (roles and contents)."""
    h = hashlib.blake2b(digest_size=16)
    for m in messages:
        h.update(m.get("role", "").encode())
        h.update(b"\x00")
        h.update(normalise(str(m.get("content", ""))).encode())
        h.update(b"\x01")
    return h.digest()


def shingles(text: str, n: int = 5) -> set[bytes]:
    t = normalise(text)
    if len(t) <= n:
        return {t.encode()} if t else set()
    return {t[i : i + n].encode() for i in range(len(t) - n + 1)}


def minhash(text: str, num_perm: int = 64, n: int = 5) -> np.ndarray:
    """MinHash signature (uint64 array) of the text's character n-gram shingles."""
    m = MinHash(num_perm=num_perm, scheme=SCHEME)
    sh = shingles(text, n)
    if sh:
        m.update_batch(list(sh))
    return m.hashvalues.astype(np.uint64)


class Deduplicator:
    """Streaming duplicate filter: ``check`` returns a drop reason or None and remembers what it kept.

    Memory grows with the number of *kept* (unique) instructions: 16 bytes per exact key plus the LSH band
    keys; repeated input adds nothing.
    """

    def __init__(self, *, exact: bool = True, near: bool = True, threshold: float = 0.9, num_perm: int = 64,
                 shingle: int = 5):
        self.exact, self.near = exact, near
        self.threshold, self.num_perm, self.shingle = threshold, num_perm, shingle
        self._keys: set[bytes] = set()
        self._lsh: dict[str, MinHashLSH] = {}
        self._n = 0

    def signature(self, text: str) -> np.ndarray:
        return minhash(text, self.num_perm, self.shingle)

    def check(self, messages: list[dict], *, group: str = "", scope: str = "", content: str | None = None,
              signature: np.ndarray | None = None) -> str | None:
        """``group``: the source record (its own variants never count as duplicates of each other);
        ``scope``: near duplicates are looked for within one scope (the task); ``content``: the text judged
        for near duplicates (default: all message contents); ``signature``: its precomputed MinHash."""
        if self.exact:
            key = exact_key(messages)
            if key in self._keys:
                return "duplicate_exact"
        if self.near:
            if signature is None:
                text = content if content is not None else "\n".join(str(m.get("content", "")) for m in messages)
                signature = self.signature(text)
            lsh = self._lsh.get(scope)
            if lsh is None:
                lsh = self._lsh[scope] = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
            m = MinHash(num_perm=self.num_perm, hashvalues=signature, scheme=SCHEME)
            for hit in lsh.query(m):
                if hit.split("\x00", 1)[0] != group:
                    return "duplicate_near"
            self._n += 1
            lsh.insert(f"{group}\x00{self._n}", m, check_duplication=False)
        if self.exact:
            self._keys.add(key)
        return None
