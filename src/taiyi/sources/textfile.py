"""Decoding raw dataset files with errors that name the file, the line and the encoding tried.

Why: raw corpora come in UTF-8, GB18030 and worse; a bare UnicodeDecodeError names neither the file nor
the line. Every reader opens its text through here so bad input fails with a usable message.
"""

from __future__ import annotations

from pathlib import Path

from taiyi.files import DataError


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The whole file decoded; a decoding problem raises DataError naming file, line and encoding."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{line}: cannot decode byte(s) {data[exc.start:exc.end]!r} at offset {exc.start} "
                        f"as {encoding} ({exc.reason}); is the file in another encoding?") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    # CRLF read as LF (as XML parsers do): a copy converted to CRLF (git autocrlf, a Windows editor) keeps the
    # standoff offsets of the LF original; a corpus whose offsets count the CRs fails its span checks, loudly
    return text.replace("\r\n", "\n")


def read_lines(path: str | Path, encoding: str = "utf-8", *, complete: bool = False) -> list[str]:
    """Lines without their line endings (\\n or \\r\\n); line i of the file is element i-1. With ``complete``
    a file whose last line has no line ending is refused (``check_complete``): for formats whose last record a
    cut would leave well-formed but shorter (PubTator text lines), where every real file ends with a newline."""
    text = read_text(path, encoding)
    if complete:
        check_complete(path, text)
    lines = text.split("\n")  # not splitlines(): U+2028 etc. may sit inside a line
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def check_complete(path: str | Path, text: str) -> None:
    """The file must end with a line ending: one that does not was cut short (a copy interrupted mid-write), and
    its last record would otherwise be read as a shorter, wrong one. Only for formats whose real files all end
    with a newline (some do not: HoC's per-PMID label files, LitCovid's label samples)."""
    if text and not text.endswith("\n"):
        line = text.count("\n") + 1
        raise DataError(f"{path}:{line}: the last line has no line ending, so the file looks cut short; "
                        "if it is complete, end it with a newline")


def field(where: str, item: dict, key: str, kind: type | tuple[type, ...] = str, *, optional: bool = False):
    """``item[key]`` checked for presence and type; a missing, null or wrong-typed value is a DataError naming
    ``where`` (file and line or record), the field and what it holds — never a None or a number read as text."""
    if key not in item:
        if optional:
            return None
        raise DataError(f"{where}: missing field {key!r} (has {sorted(item)})")
    value, kinds = item[key], kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = "/".join(k.__name__ for k in kinds)
        got = "null" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
        raise DataError(f"{where}: field {key!r} is {got}, expected {names}")
    return value
