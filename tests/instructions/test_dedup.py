"""Exact and MinHash near-duplicate removal; a record's own variants never count as duplicates."""

from taiyi.instructions.dedup import Deduplicator


def msgs(q, a):
    return [{"role": "user", "content": q}, {"role": "assistant", "content": a}]


def test_exact_near_and_same_group():
    d = Deduplicator(threshold=0.8)
    text = "糖尿病患者应注意控制饮食，规律运动，按时服药并定期监测血糖水平。" * 3
    assert d.check(msgs(text, "好的"), group="r1") is None
    assert d.check(msgs(text.replace("，", ","), "好的 "), group="r2") == "duplicate_exact"  # NFKC + spaces
    assert d.check(msgs(text + "另外", "好的"), group="r3") == "duplicate_near"
    assert d.check(msgs(text + "另外", "好的呀"), group="r1") is None  # another prompt of the same record
    assert d.check(msgs("a completely different question about asthma", "yes"), group="r4") is None
    assert d.check(msgs(text + "再次", "好的"), group="r5", scope="other-task") is None  # scoped per task
