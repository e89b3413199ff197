"""Readers for zh-en parallel text: ParaMed (NEJM) manual alignments and WMT Biomedical document-aligned test sets.

Why: the paper's MT task trains and evaluates on zh<->en biomedical translation; both sources become ``t2t``
records (``text_1_name``/``text_2_name`` = the language codes, text_1 the source side).

- ``paramed``: ``manual_align_input/docN.{en,zh}`` (one sentence per line) + ``align.txt``
  (``docN<TAB><zh lines> <=> <en lines><TAB>OK``, 1-based, comma-separated). Each link with both sides becomes one
  pair (several lines on one side are joined with a space); links with an ``omitted`` side have no translation and
  are skipped. ParaMed's text is preprocessed (English lowercased + Moses-tokenised, Chinese word-segmented); with
  ``detokenize`` (default) Moses escapes (``&apos;``, ``@-@`` ...) are undone and the spaces the segmenter put
  between Chinese characters (and around full-width punctuation) are removed, so models do not learn to emit segmented Chinese.
- ``wmt_doc``: ``docID<TAB>sentNo<TAB>text`` source and reference files. They are aligned by document, not by
  sentence (different line counts). With ``level="auto"`` (default) a document whose two sides have the same number
  of sentences yields sentence pairs (in order), any other document one document-level pair (sentences joined; no
  space between Chinese sentences); ``level="document"`` or ``"sentence"`` forces one mode (``sentence`` fails on
  a document whose counts differ).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])|(?<=[{_CJK_PUNCT}]) +| +(?=[{_CJK_PUNCT}])")
_LINK = re.compile(r"^\s*(omitted|\d+(?:\s*,\s*\d+)*)\s*<=>\s*(omitted|\d+(?:\s*,\s*\d+)*)\s*$")


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return read_lines(path)  # one decoding rule: BOM dropped, a cut-short last line refused


def join_sentences(sentences: list[str], lang: str) -> str:
    """Sentences of one language as running text (Chinese: no separator)."""
    parts = [s.strip() for s in sentences if s.strip()]
    return ("" if lang == "zh" else " ").join(parts)


def detokenize(text: str, lang: str) -> str:
    """Undo ParaMed's preprocessing as far as it is reversible: Moses escapes and Chinese word segmentation."""
    text = html.unescape(text.replace(" @-@ ", "-").replace("@-@", "-"))
    if lang == "zh":
        text = _CJK_GAP.sub("", text)
    return text.strip()


# --------------------------------------------------------------------------- ParaMed


def _line_numbers(spec: str) -> list[int] | None:
    return None if spec == "omitted" else [int(x) for x in spec.split(",")]


@register_reader("paramed")
def read_paramed(
    root: Path, *, align: str = "align.txt", docs: str = "manual_align_input", split: str = "test",
    source: str = "en", detokenize_text: bool = True, lang: str = "zh-en",
    dataset: str = "paramed",
) -> Iterator[dict]:
    """ParaMed manual alignments -> t2t sentence pairs (``source`` side in text_1)."""
    if source not in ("en", "zh"):
        raise ValueError(f"source must be 'en' or 'zh', not {source!r}")
    target = "zh" if source == "en" else "en"
    root = Path(root)
    align_path = root / align
    cache: dict[tuple[str, str], list[str]] = {}
    counts: dict[str, int] = defaultdict(int)

    def lines(doc: str, lng: str) -> list[str]:
        if (doc, lng) not in cache:
            cache[(doc, lng)] = _read_lines(root / docs / f"{doc}.{lng}")
        return cache[(doc, lng)]

    for line_no, raw in enumerate(_read_lines(align_path), 1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) < 2 or not (m := _LINK.match(fields[1])):
            raise DataError(f"{align_path}:{line_no}: expected 'docN<TAB>zh lines <=> en lines<TAB>OK', got {raw!r}")
        doc = fields[0].strip()
        zh_ids, en_ids = _line_numbers(m.group(1)), _line_numbers(m.group(2))
        if zh_ids is None or en_ids is None:
            continue  # one side omitted: no translation to pair
        sides = {}
        for lng, ids in (("zh", zh_ids), ("en", en_ids)):
            text = lines(doc, lng)
            bad = [i for i in ids if not 1 <= i <= len(text)]
            if bad:
                raise DataError(f"{align_path}:{line_no}: {lng} line {bad[0]} outside {doc}.{lng} ({len(text)} lines)")
            sent = join_sentences([text[i - 1] for i in ids], lng)
            sides[lng] = detokenize(sent, lng) if detokenize_text else sent
        counts[doc] += 1
        rid = f"{doc}-{counts[doc]}"
        yield new_record(
            "t2t", id=rid, document_id=doc, dataset=dataset, split=split, lang=lang,
            text_1=sides[source], text_2=sides[target], text_1_name=source, text_2_name=target,
        )


# --------------------------------------------------------------------------- WMT Biomedical (document-aligned)


def _read_docs(path: Path) -> dict[str, list[str]]:
    docs: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line_no, raw in enumerate(_read_lines(path), 1):
        if not raw.strip():
            continue
        fields = raw.split("\t", 2)
        if len(fields) != 3 or not fields[1].strip().isdigit():
            raise DataError(f"{path}:{line_no}: expected 'docID<TAB>sentNo<TAB>text', got {raw[:80]!r}")
        docs[fields[0].strip()].append((int(fields[1]), fields[2].strip()))
    return {d: [t for _, t in sorted(sents)] for d, sents in docs.items()}


@register_reader("wmt_doc")
def read_wmt_doc(
    root: Path, *, files: dict[str, dict[str, str]], level: str = "auto", lang: str = "zh-en",
    dataset: str = "wmt_biomedical_zh_en",
) -> Iterator[dict]:
    """``files``: {direction (e.g. en2zh): {src, ref, split?}}; languages are read from the direction name."""
    if level not in ("auto", "document", "sentence"):
        raise ValueError(f"level must be auto, document or sentence, not {level!r}")
    root = Path(root)
    for direction, spec in files.items():
        m = re.fullmatch(r"([a-z]{2})2([a-z]{2})", direction)
        if not m or not isinstance(spec, dict) or not {"src", "ref"} <= set(spec):
            raise DataError(f"{root}: wmt_doc files entry {direction!r} must be named like 'en2zh' and give src and ref")
        src_lang, ref_lang = m.groups()
        split = spec.get("split", "test")
        src, ref = _read_docs(root / spec["src"]), _read_docs(root / spec["ref"])
        if set(src) != set(ref):
            only = sorted(set(src) ^ set(ref))
            raise DataError(f"{root / spec['src']} and {root / spec['ref']}: documents {only[:5]} are on one side only")
        for doc in src:  # file order
            s, r = src[doc], ref[doc]
            sentence_level = level == "sentence" or (level == "auto" and len(s) == len(r))
            if sentence_level and len(s) != len(r):
                raise DataError(f"{root / spec['src']}: {doc} has {len(s)} source but {len(r)} reference sentences")
            pairs = list(zip(s, r)) if sentence_level else [(join_sentences(s, src_lang), join_sentences(r, ref_lang))]
            for k, (a, b) in enumerate(pairs, 1):
                rid = f"{direction}-{doc}" + (f"-{k}" if sentence_level else "")
                yield new_record(
                    "t2t", id=rid, document_id=f"{direction}-{doc}", dataset=dataset, split=split, lang=lang,
                    text_1=a, text_2=b, text_1_name=src_lang, text_2_name=ref_lang,
                )
