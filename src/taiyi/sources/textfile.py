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
    return text


def read_lines(path: str | Path, encoding: str = "utf-8") -> list[str]:
    """Lines without their line endings (\\n or \\r\\n); line i of the file is element i-1."""
    lines = read_text(path, encoding).split("\n")  # not splitlines(): U+2028 etc. may sit inside a line
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
