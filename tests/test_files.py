from pathlib import Path

import pytest

from taiyi.files import DataError, atomic_dir, read_jsonl, write_jsonl


def test_jsonl_roundtrip_and_line_numbered_errors(tmp_path: Path):
    p = tmp_path / "a.jsonl"
    assert write_jsonl(p, [{"x": "中文"}, {"x": 2}]) == 2
    assert [r["x"] for r in read_jsonl(p)] == ["中文", 2]
    p.write_text('{"x": 1}\n{"x": \n')
    with pytest.raises(DataError, match=r"a.jsonl:2: malformed JSON"):
        list(read_jsonl(p))


def test_atomic_dir_leaves_nothing_on_failure(tmp_path: Path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "half.jsonl").write_text("x")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
