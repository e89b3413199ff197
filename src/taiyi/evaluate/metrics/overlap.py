"""Overlap metrics for generated text: token F1 and ROUGE-L, char-level for Chinese, word-level for English.

Why: the free-text tasks (qa, dialogue, title, report) score by overlap with the reference; the paper's
Chinese generation tasks use character units (a Chinese word segmenter would add a dependency and noise).
All figures are on the 0-100 scale; a missing prediction (parse failure, ``None``) scores 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence



def token_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """SQuAD-style bag-of-tokens F1 (0..1)."""
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a)*len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(pred: Sequence[str], gold: Sequence[str]) -> float:
    """ROUGE-L F-measure (beta = 1) of two token sequences (0..1)."""
    if not pred or not gold:
        return float(pred == gold)
    lcs = lcs_length(pred, gold)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(pred), lcs / len(gold)
    return 2 * p * r / (p + r)
