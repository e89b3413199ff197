"""Find offered option names (labels) inside a free answer: longest names first, no overlaps, any case/width.

Why: classification and text-pair answers name labels in prose ("该文本属于：治疗方案。"); a label can be a
substring of another ("相似" in "不相似"), so names are matched longest-first and each span is used once.
"""

from __future__ import annotations

import re
import unicodedata


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def scan(text: str, options: list[list[str]]) -> list[tuple[int, str]]:
    """(position, raw label) of every option named in ``text`` (by display name or raw label), in text order."""
    low = _norm(text)
    names = sorted({(_norm(n), raw) for raw, disp in options for n in (disp, raw) if n.strip()}, key=lambda x: -len(x[0]))
    taken = [False] * len(low)
    hits = []
    for name, raw in names:
        for m in re.finditer(re.escape(name), low):
            s, e = m.span()
            if any(taken[s:e]):
                continue
            # a short latin/digit name must stand alone ("1" not inside "10", "ab" not inside "abc")
            if name.isascii() and ((s > 0 and low[s - 1].isalnum()) or (e < len(low) and low[e].isalnum())):
                continue
            taken[s:e] = [True] * (e - s)
            hits.append((s, raw))
    return sorted(hits)
