"""Tests of taiyi.corpus.parquet: records survive a Parquet round trip, including ragged nested fields."""

from __future__ import annotations

from taiyi.corpus.parquet import read_parquet, write_parquet
from taiyi.corpus.schema import make_passages, new_record


def _kb(i: int, with_ent: bool) -> dict:
    text = "Aspirin causes ulcers."
    ents = [{"id": "T1", "type": "Chemical", "text": ["Aspirin"], "offsets": [[0, 7]],
             "normalized": [{"db_name": "MESH", "db_id": "D001241"}]}] if with_ent else []
    return new_record("kb", id=str(i), document_id=str(i), dataset="toy", split="train", lang="en",
                      passages=make_passages([("title", text)]), entities=ents)


def test_kb_round_trip(tmp_path):
    recs = [_kb(0, True), _kb(1, False)]
    path = tmp_path / "train.parquet"
    assert write_parquet(recs, path) == 2
    back = read_parquet(path)
    assert back[0]["entities"] == recs[0]["entities"]
    assert back[1]["entities"] == [] and back[0]["passages"] == recs[0]["passages"]


def test_ragged_meta_falls_back_to_json(tmp_path):
    recs = [new_record("dialogue", id=str(i), document_id=str(i), dataset="toy", split="train", lang="zh",
                       turns=[{"role": "user", "content": "你好"}, {"role": "assistant", "content": "您好"}], meta=m)
            for i, m in enumerate([{"dept": "内科"}, {"dept": 3, "extra": [1, 2]}])]
    path = tmp_path / "d.parquet"
    write_parquet(recs, path)
    back = read_parquet(path)
    assert [r["meta"] for r in back] == [{"dept": "内科"}, {"dept": 3, "extra": [1, 2]}]
    assert not list(tmp_path.glob(".*tmp*"))
