"""How a free-text answer is worded and un-worded (qa, dialogue, mt, title; mcqa and report reuse the label stripping).

Why: free-text tasks still train on several answer phrasings ("Answer: ...", "译文：...") and evaluation must
strip any of them — and the leading labels a sloppy model adds ("答案：", "**Answer:**") — back to the exact
answer, so that ``parse(render(t)) == t`` holds and the score measures the model, not the parser.

A phrasing is a string with one ``{answer}`` slot (e.g. ``"Translation: {answer}"``).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from taiyi.instructions.tasks.base import ParseError
from taiyi.text import nfkc

# Labels any model may put before an answer, in either language, on top of the task's own phrasings.
GENERIC_LABELS = ("答案", "回答", "答", "解答", "回复", "answer", "response", "reply", "final answer", "the answer is", "答案是")
_COLONS = ":："


def phrasing_labels(phrasings: Iterable[str], slot: str = "{answer}") -> list[str]:
    """The label words of phrasings ("Translation: {answer}" -> "Translation") for sloppy matching."""
    labels = []
    for p in phrasings:
        head = p.split(slot, 1)[0]
        head = nfkc(head).strip().strip(_COLONS + " \n*#-").strip()
        if head and len(head) <= 40:
            labels.append(head)
    return labels


def strip_label(text: str, labels: Iterable[str]) -> str:
    """Remove one leading answer label ("答案：", "**Answer**:", "The answer is:") if present; case-insensitive.

    ``labels`` come on top of GENERIC_LABELS. A label counts only when a colon (either width) follows it.
    """
    words = sorted({nfkc(w).strip() for w in (*labels, *GENERIC_LABELS) if w.strip()}, key=len, reverse=True)
    alt = "|".join(re.escape(w) for w in words)
    pattern = re.compile(rf"^\s*(?:[*_#>]+\s*)?(?:{alt})\s*(?:[*_]+\s*)?[:：]\s*(?:[*_]+\s*)?", re.IGNORECASE)
    m = pattern.match(text)
    if m is None:
        # labels written with full-width letters: match on the NFKC form when it keeps the length
        norm = nfkc(text)
        if len(norm) == len(text):
            m = pattern.match(norm)
    return text[m.end():] if m else text


def unwrap(text: str | None, phrasings: Sequence[str], labels: Sequence[str] = ()) -> str:
    """The answer inside ``text``: an exact phrasing match first (most specific first), then sloppy label stripping.

    Raises ParseError when nothing that could be an answer remains.
    """
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    text = str(text)
    stripped = text.strip()
    exact = []
    for p in phrasings:
        pre, _, suf = p.partition("{answer}")
        if pre or suf:
            exact.append((len(pre) + len(suf), pre, suf))
    for _, pre, suf in sorted(exact, key=lambda x: -x[0]):
        for cand in (text, stripped):
            if cand.startswith(pre) and cand.endswith(suf) and len(cand) > len(pre) + len(suf):
                inner = cand[len(pre) : len(cand) - len(suf)]
                if inner.strip():
                    return inner.strip()
    out = strip_label(stripped, [*labels, *phrasing_labels(phrasings)]).strip()
    if not out:
        raise ParseError(f"only a label, no answer: {stripped[:60]!r}")
    return out


def canonical(text: str, phrasings: Sequence[str], labels: Sequence[str] = ()) -> str | None:
    """A gold answer as the codec trains on it: stripped, with answer labels the raw data carries removed
    ("医生:确诊后…" -> "确诊后…"), so that ``unwrap(render(t)) == t`` holds. None when nothing is left."""
    out = str(text or "").strip()
    for _ in range(3):
        if not out:
            return None
        try:
            nxt = unwrap(out, phrasings, labels)
        except ParseError:
            return None
        if nxt == out:
            return out
        out = nxt
    return out or None
