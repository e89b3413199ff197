"""Fault classes for the reader fault-injection suite: each turns a real file's bytes into a damaged copy.

Why a registry: the suite is generated (every reader x every fault class), so a new fault class is one function
here and a new reader is covered by its catalog entry alone. A fault returns None where it cannot apply to a
file (a BOM on a file that has one, a header-only copy of a file without a header, a duplicate where records
carry no id of their own).

Truncation cuts at a byte inside a line, never exactly at a line end: a line-terminated file cut at a line end is
indistinguishable from a shorter complete file, so no reader can be asked to notice it.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Callable, Optional

Fault = Callable[[bytes, str], Optional[bytes]]  # (data, file name) -> damaged data, or None: not applicable
FAULTS: dict[str, Fault] = {}
# faults after which the file must read exactly as the clean one; every other fault must be an error (or, where the
# damage touches nothing the reader uses, the same records)
SAME_RECORDS = {"bom", "crlf"}
ID_KEYS = ("id", "_id", "pmid", "PMID", "sample_id", "doc_id", "document_id", "qid")


def fault(name: str) -> Callable[[Fault], Fault]:
    def deco(fn: Fault) -> Fault:
        FAULTS[name] = fn
        return fn

    return deco


def _utf8(data: bytes) -> Optional[str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _char_boundary(data: bytes, pos: int) -> int:
    while pos > 0 and (data[pos] & 0xC0) == 0x80:  # never cut inside a UTF-8 sequence
        pos -= 1
    return pos


def _cut_inside_line(data: bytes, start: int, end: int) -> Optional[bytes]:
    """The file cut in the middle of the line spanning [start, end) (end excludes its newline)."""
    if end - start < 4:
        return None
    pos = _char_boundary(data, start + (end - start) // 2)
    if pos <= start or data[pos - 1:pos] in (b"\n", b"\r"):
        return None
    return data[:pos]


def _lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the lines, newline excluded."""
    out, start = [], 0
    for m in re.finditer(rb"\r?\n", data):
        out.append((start, m.start()))
        start = m.end()
    if start < len(data):
        out.append((start, len(data)))
    return out


def _first_cut(data: bytes, order: list[tuple[int, int]]) -> Optional[bytes]:
    for start, end in order:
        cut = _cut_inside_line(data, start, end)
        if cut is not None:
            return cut
    return None


@fault("bom")
def bom(data: bytes, name: str) -> Optional[bytes]:
    if data.startswith(b"\xef\xbb\xbf") or _utf8(data) is None:
        return None
    return b"\xef\xbb\xbf" + data


@fault("crlf")
def crlf(data: bytes, name: str) -> Optional[bytes]:
    if b"\n" not in data or b"\r\n" in data or _utf8(data) is None:
        return None
    return data.replace(b"\n", b"\r\n")


@fault("empty_file")
def empty_file(data: bytes, name: str) -> Optional[bytes]:
    return b""


@fault("header_only")
def header_only(data: bytes, name: str) -> Optional[bytes]:
    """CSV/TSV files with a header row keep that row alone."""
    text = _utf8(data[:8192]) or data[:8192].decode("gb18030", "replace")
    if not name.lower().endswith((".csv", ".tsv")) or "\n" not in text:
        return None
    try:
        if not csv.Sniffer().has_header(text[: text.rfind("\n")]):
            return None
    except csv.Error:
        return None
    return data[: data.index(b"\n") + 1]


@fault("truncated_mid_line")
def truncated_mid_line(data: bytes, name: str) -> Optional[bytes]:
    lines = _lines(data)
    mid = len(lines) // 2
    return _first_cut(data, lines[mid:] + lines[:mid][::-1])


@fault("truncated_mid_record")
def truncated_mid_record(data: bytes, name: str) -> Optional[bytes]:
    """Cut inside a line that continues a multi-line record (a non-blank line after a non-blank one), a third in."""
    lines = _lines(data)
    inner = [(s, e) for (ps, pe), (s, e) in zip(lines, lines[1:]) if pe > ps and e > s]
    third = len(inner) // 3
    return _first_cut(data, inner[third:] + inner[:third][::-1])


@fault("truncated_mid_text")
def truncated_mid_text(data: bytes, name: str) -> Optional[bytes]:
    """Cut in the middle of the longest line (the text of an abstract, a dialogue, a JSON text field)."""
    return _first_cut(data, sorted(_lines(data), key=lambda r: r[0] - r[1])[:3])


@fault("wrong_encoding")
def wrong_encoding(data: bytes, name: str) -> Optional[bytes]:
    """UTF-8 text re-encoded as GB18030 (UTF-16 when all ASCII); a GB18030 file re-encoded as UTF-8."""
    text = _utf8(data)
    if text is None:
        try:
            return data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            return None
    if text.isascii():
        return text.encode("utf-16")
    return text.encode("gb18030")


def _json_doc(data: bytes, name: str):
    """('jsonl', [objs]) or ('json', obj) for JSON files; None otherwise."""
    text = _utf8(data)
    if text is None or not name.lower().endswith((".json", ".jsonl")):
        return None
    try:
        return "json", json.loads(text)
    except json.JSONDecodeError:
        try:
            return "jsonl", [json.loads(ln) for ln in text.splitlines() if ln.strip()]
        except json.JSONDecodeError:
            return None


def _first_record(doc) -> Optional[dict]:
    if isinstance(doc, list):
        return next((r for r in doc if isinstance(r, dict)), None)
    if isinstance(doc, dict):
        first = next(iter(doc.values()), None)
        return first if isinstance(first, dict) else None
    return None


def _dump(kind: str, doc) -> bytes:
    if kind == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in doc).encode("utf-8")
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def _with_field(data: bytes, name: str, value) -> Optional[bytes]:
    """The first record's longest string field (its text, usually) replaced by ``value``."""
    parsed = _json_doc(data, name)
    if parsed is None:
        return None
    kind, doc = parsed
    rec = _first_record(doc)
    fields = [k for k, v in (rec or {}).items() if isinstance(v, str) and v]
    if not fields:
        return None
    rec[max(fields, key=lambda k: len(rec[k]))] = value
    return _dump(kind, doc)


@fault("null_field")
def null_field(data: bytes, name: str) -> Optional[bytes]:
    return _with_field(data, name, None)


@fault("wrong_type_field")
def wrong_type_field(data: bytes, name: str) -> Optional[bytes]:
    return _with_field(data, name, 12345)


@fault("duplicate_record")
def duplicate_record(data: bytes, name: str) -> Optional[bytes]:
    """A record with an id of its own repeated with different content (JSON) or a PubTator block repeated."""
    parsed = _json_doc(data, name)
    if parsed is not None:
        kind, doc = parsed
        if not isinstance(doc, list):
            return None
        rec = _first_record(doc)
        key = next((k for k in ID_KEYS if rec and k in rec), None)
        others = [k for k, v in (rec or {}).items() if isinstance(v, str) and v and k != key]
        if key is None or not others:
            return None
        twin = dict(rec)
        longest = max(others, key=lambda k: len(rec[k]))
        twin[longest] = rec[longest][: len(rec[longest]) // 2]
        return _dump(kind, [rec, twin] + doc[doc.index(rec) + 1:])
    m = re.match(rb"(\d+)\|t\|.*?\n\n", data, re.S)  # PubTator: first block, changed, repeated
    if m is None:
        return None
    block = m.group(0)
    return block + block.replace(b"|t|", b"|t|X", 1) + data[m.end():]
