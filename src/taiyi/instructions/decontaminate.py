"""Decontamination: no training record may share a source document or a long n-gram with an evaluation record.

Why: the 140 sources overlap with the benchmarks (the same PubMed abstract is annotated by BC5CDR, BioRED,
NCBI-disease, ...; CMeEE v1 and v2 share sentences). Training on an evaluation document inflates the score.
Three checks, all against the records of every benchmark split present in the corpus:
  * document: a dataset-independent document id (PMID / PMC id) or, for other ids, (dataset, document id);
  * text: the exact normalised source text;
  * n-gram: any shared long n-gram, 13 word-grams for English and 50 character-grams for Chinese.
N-grams are hashed with a deterministic 64-bit polynomial hash (numpy), stored as a sorted uint64 array, so
the index is small, picklable to worker processes and identical in every process.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import Iterable

import numpy as np

from taiyi.corpus.schema import document_text
from taiyi.instructions.dedup import normalise
from taiyi.text import cjk_count

REASONS = ("contaminated_document", "contaminated_text", "contaminated_ngram")
_PMID = re.compile(r"(?:pmid[:_\s]*)?(\d{5,9})", re.I)
_PMC = re.compile(r"(pmc\d{4,9})", re.I)
_WORD = re.compile(r"\w+")
_P = np.uint64(0x100000001B3)


def record_text(record: dict) -> str:
    """The source text of a corpus record (what a document 'is' for contamination and near-dup purposes)."""
    s = record.get("schema")
    if s == "kb":
        return document_text(record)
    if s == "qa":
        return "\n".join(x for x in (record.get("context", ""), record.get("question", "")) if x)
    if s == "text":
        return record.get("text", "")
    if s in ("pairs", "t2t"):
        return "\n".join(x for x in (record.get("text_1", ""), record.get("text_2", "")) if x)
    if s == "dialogue":
        return "\n".join(str(t.get("content", "")) for t in record.get("turns", []) if t.get("role") == "user")
    return ""


def doc_key(record: dict) -> str:
    """PMID/PMC ids are the same document in every dataset; other ids only within their dataset."""
    did = str(record.get("document_id", "")).strip()
    if m := _PMID.fullmatch(did):
        return f"pmid:{int(m.group(1))}"
    if m := _PMC.fullmatch(did):
        return m.group(1).lower()
    return f"{record.get('dataset', '')}:{did}"


def text_key(text: str) -> bytes:
    return hashlib.blake2b(normalise(text).encode(), digest_size=16).digest()


def is_chinese(text: str) -> bool:
    return cjk_count(text[:2000]) > 0.2 * min(len(text), 2000)


def _poly(values: np.ndarray, n: int) -> np.ndarray:
    """64-bit polynomial hash of every window of n consecutive values."""
    if len(values) < n:
        return np.empty(0, dtype=np.uint64)
    L = len(values) - n + 1
    h = np.zeros(L, dtype=np.uint64)
    p = np.uint64(1)
    with np.errstate(over="ignore"):
        for k in range(n):
            h += values[k : k + L] * p
            p = p * _P
    return h


def ngram_hashes(text: str, *, ngram_en: int = 13, ngram_zh: int = 50) -> np.ndarray:
    """Hashes of the text's long n-grams: character n-grams (no spaces) for Chinese, word n-grams otherwise."""
    t = normalise(text)
    if is_chinese(t):
        chars = t.replace(" ", "")
        vals = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        return _poly(vals, ngram_zh)
    words = _WORD.findall(t)
    vals = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    return _poly(vals + np.uint64(1), ngram_en)


class ContaminationIndex:
    """What the evaluation records contain; ``check(record)`` says whether a training record overlaps."""

    def __init__(self, *, ngram_en: int = 13, ngram_zh: int = 50):
        self.ngram_en, self.ngram_zh = ngram_en, ngram_zh
        self.docs: set[str] = set()
        self.texts: set[bytes] = set()
        self._parts: list[np.ndarray] = []
        self.grams = np.empty(0, dtype=np.uint64)
        self.n_records = 0

    def add(self, record: dict) -> None:
        self.docs.add(doc_key(record))
        text = record_text(record)
        if text.strip():
            self.texts.add(text_key(text))
            self._parts.append(ngram_hashes(text, ngram_en=self.ngram_en, ngram_zh=self.ngram_zh))
        self.n_records += 1

    def add_all(self, records: Iterable[dict]) -> None:
        for r in records:
            self.add(r)

    def freeze(self) -> "ContaminationIndex":
        """Merge the added n-grams into one sorted array (call once after adding)."""
        if self._parts:
            self.grams = np.unique(np.concatenate([self.grams, *self._parts]))
            self._parts = []
        return self

    def check_text(self, text: str) -> str | None:
        if not text.strip():
            return None
        if text_key(text) in self.texts:
            return "contaminated_text"
        if self.grams.size:
            h = ngram_hashes(text, ngram_en=self.ngram_en, ngram_zh=self.ngram_zh)
            if h.size:
                pos = np.searchsorted(self.grams, h)
                pos[pos == self.grams.size] = 0
                if bool(np.any(self.grams[pos] == h)):
                    return "contaminated_ngram"
        return None

    def check(self, record: dict) -> str | None:
        """The contamination reason of a training record (one of REASONS) or None when clean."""
        if self._parts:
            self.freeze()
        if doc_key(record) in self.docs:
            return "contaminated_document"
        return self.check_text(record_text(record))

    def __getstate__(self):
        self.freeze()
        return self.__dict__
