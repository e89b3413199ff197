"""Language detection, CJK handling and text normalisation: the one copy every stage uses.

Why: the build (prompt language, dedup keys, decontamination n-grams) and evaluation (grounding, option
matching, ROUGE tokens) each had their own detectors and normalisers with different thresholds; a zh-en record
could get a Chinese prompt from one task and an English one from another. Whatever changes here changes
everywhere at once.
"""

from __future__ import annotations

import re
import unicodedata

# CJK Unified Ideographs, extension A, compatibility ideographs and the supplementary-plane extensions.
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
ZH_SHARE = 0.15  # text_lang: share of CJK ideographs from which a text is Chinese
_WORD = re.compile(r"\w+", re.UNICODE)
_WS = re.compile(r"\s+")


def nfkc(text: str) -> str:
    """NFKC (full-width -> half-width punctuation, compatibility forms)."""
    return unicodedata.normalize("NFKC", text)


def is_cjk(ch: str) -> bool:
    return CJK.match(ch) is not None


def cjk_count(text: str) -> int:
    return len(CJK.findall(text))


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the non-space characters (0..1; 0 for empty text)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(is_cjk(c) for c in chars) / len(chars)


def text_lang(text: str) -> str:
    """'zh' when the text is noticeably Chinese (CJK share above ``ZH_SHARE``), else 'en'."""
    return "zh" if cjk_share(text) > ZH_SHARE else "en"


def record_lang(record: dict, info: dict, text: str | None = None) -> str:
    """The prompt language of a corpus record: its own ``lang``, else its dataset's, when that is zh or en; a
    mixed (zh-en) record follows ``text`` when the task gives one, else gets Chinese prompts."""
    for lang in (record.get("lang"), info.get("lang")):
        if lang in ("zh", "en"):
            return lang
        if lang and text is not None:  # a mixed-language record: the text decides
            return text_lang(text)
    return "zh" if text is None else text_lang(text)


def normalise(text: str, *, casefold: bool = True) -> str:
    """NFKC, case folded (``casefold=False``: ``str.lower``), one space for any whitespace run, stripped."""
    t = nfkc(text)
    return _WS.sub(" ", t.casefold() if casefold else t.lower()).strip()


def fold(text: str) -> str:
    """NFKC + casefold, nothing else (positions of a search key stay put)."""
    return nfkc(text).casefold()


def tokens(text: str | None, lang: str | None = None) -> list[str]:
    """Overlap-metric units: Chinese (or mostly Chinese text when ``lang`` is None) characters without spaces and
    punctuation; otherwise lower-cased words."""
    if not text:
        return []
    text = nfkc(text)
    if lang is None:
        lang = text_lang(text)
    if lang == "zh":
        return [c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P")]
    return [w.lower() for w in _WORD.findall(text)]
