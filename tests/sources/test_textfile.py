"""Tests of taiyi.sources.textfile: decoding errors name file, line and encoding; line splitting is exact."""

from __future__ import annotations

import pytest

from taiyi.files import DataError
from taiyi.sources.textfile import read_lines, read_text


def test_wrong_encoding_names_line_and_encoding(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("科室,标题\n".encode("utf-8") + "内科,高血压\n".encode("gb18030"))
    with pytest.raises(DataError, match=r"x\.csv:2: cannot decode .* as utf-8"):
        read_text(p)
    assert read_text(p, "gb18030").startswith("绉")


def test_lines_keep_unicode_separators(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes("a\u2028b\r\nc\n".encode())
    assert read_lines(p) == ["a\u2028b", "c"]
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.txt")
