"""The token cache: the same examples and statistics as in-memory encoding, written once (1 or 2 processes),
reused by a second run, keyed so that anything changing the ids misses it, shared by two torchrun ranks, and
read in the same order by a resumed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from taiyi.files import DataError
from taiyi.train.chat_format import ChatEncoder, encode_file
from taiyi.train.loader import load_tokenizer
from taiyi.train.token_cache import TokenCache, open_cache

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


def _records(path: Path, n: int, long_every: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            prompt = f"Extract the diseases. Text: patient {i} has asthma and 糖尿病."
            if long_every and i % long_every == 0:
                prompt += " filler" * 400  # truncated at max_length 128
            rec = {"id": f"r{i}", "dataset": ["a", "b", "c"][i % 3], "task": "ner",
                   "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"Disease: d{i}"}]}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        fh.write('{"id": "bad", "messages": [{"role": "user", "content": "hi"}, '
                 '{"role": "assistant", "content": "' + "long answer " * 200 + '"}]}\n')
    return path


def test_cache_equals_in_memory_encoding_and_is_reused(tok, tmp_path):
    data = _records(tmp_path / "stage1.jsonl", 37, long_every=5)
    enc = ChatEncoder(tok, max_length=128)
    examples, stats = encode_file(data, enc, progress=False)
    one, hit1 = open_cache(data, enc, tmp_path / "c1", num_proc=1, progress=False)
    two, hit2 = open_cache(data, enc, tmp_path / "c2", num_proc=2, progress=False)
    assert (hit1, hit2) == (False, False)
    assert len(one.meta["parts"]) == 1 and len(two.meta["parts"]) > 2  # 2 procs: several line-aligned chunks
    for cache in (one, two):
        assert [cache.example(i) for i in range(len(cache))] == examples
        assert cache.stats.as_dict() == stats.as_dict()
        assert stats.truncated == 8 and dict(stats.dropped) == {"answer_too_long": 1}
        assert list(cache.column("dataset")[:4]) == ["a", "b", "c", "a"]
        assert list(cache.column("length")) == [len(e["input_ids"]) for e in examples]
    again, hit = open_cache(data, enc, tmp_path / "c1", num_proc=2, progress=False)
    assert hit and again.dir == one.dir
    # anything that changes the ids misses the cache: the data, max_length, thinking
    _, hit = open_cache(data, ChatEncoder(tok, max_length=96), tmp_path / "c1", progress=False)
    assert not hit
    with open(data, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "new", "messages": [{"role": "user", "content": "q"},
                                                       {"role": "assistant", "content": "a"}]}) + "\n")
    _, hit = open_cache(data, enc, tmp_path / "c1", progress=False)
    assert not hit and len(list((tmp_path / "c1").iterdir())) == 3


def test_wide_vocabularies_store_int32_ids(tok, tmp_path, monkeypatch):
    """Vocabularies over 65,535 tokens (Qwen, GLM-4) are stored as int32; same examples as in memory."""
    import pyarrow as pa

    from taiyi.train import token_cache

    monkeypatch.setattr(token_cache, "UINT16_VOCAB", 10)
    data = _records(tmp_path / "stage1.jsonl", 12, long_every=5)
    enc = ChatEncoder(tok, max_length=128)
    examples, _ = encode_file(data, enc, progress=False)
    cache, _ = open_cache(data, enc, tmp_path / "c", progress=False)
    assert cache._batches[0].schema.field("input_ids").type == pa.list_(pa.int32())
    assert [cache.example(i) for i in range(len(cache))] == examples


def test_shards_are_read_as_one_file_and_bad_records_name_file_and_line(tok, tmp_path):
    _records(tmp_path / "all.jsonl", 10)
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "stage2-00000-of-00002.jsonl").write_text("".join(lines[:4]), encoding="utf-8")
    (tmp_path / "stage2-00001-of-00002.jsonl").write_text("".join(lines[4:]), encoding="utf-8")
    enc = ChatEncoder(tok, max_length=128)
    cache, _ = open_cache(tmp_path / "stage2.jsonl", enc, tmp_path / "c", progress=False)
    full, _ = encode_file(tmp_path / "all.jsonl", enc, progress=False)
    assert [cache.example(i) for i in range(len(cache))] == full
    (tmp_path / "stage2-00001-of-00002.jsonl").write_text("".join(lines[4:7]) + "{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"stage2-00001-of-00002.jsonl:4: malformed JSON"):
        open_cache(tmp_path / "stage2.jsonl", enc, tmp_path / "c", progress=False)
    assert list((tmp_path / "c").glob("*.failed"))  # waiting ranks are told, not left hanging
    (tmp_path / "stage2-00001-of-00002.jsonl").unlink()
    with pytest.raises(DataError, match="incomplete or mixed shard set"):
        open_cache(tmp_path / "stage2.jsonl", enc, tmp_path / "c", progress=False)


def test_waiting_rank_reads_what_the_main_process_wrote(tok, tmp_path, monkeypatch):
    data = _records(tmp_path / "d.jsonl", 6)
    enc = ChatEncoder(tok, max_length=128)
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(DataError, match="not written by the main process within 0s"):
        open_cache(data, enc, tmp_path / "c", progress=False, wait_s=0)
    monkeypatch.setenv("LOCAL_RANK", "0")
    written, _ = open_cache(data, enc, tmp_path / "c", progress=False)
    monkeypatch.setenv("LOCAL_RANK", "1")
    read, hit = open_cache(data, enc, tmp_path / "c", progress=False, wait_s=0)
    assert hit and isinstance(read, TokenCache) and read.dir == written.dir


TWO_RANKS = """
import hashlib, json, os, sys
import torch.distributed as dist
dist.init_process_group("gloo")
from taiyi.train.chat_format import ChatEncoder
from taiyi.train.loader import load_tokenizer
from taiyi.train.token_cache import open_cache
enc = ChatEncoder(load_tokenizer(sys.argv[1]), max_length=128)
cache, hit = open_cache(sys.argv[2], enc, sys.argv[3], num_proc=2, progress=False)
h = hashlib.sha256(json.dumps([cache.example(i) for i in range(len(cache))]).encode()).hexdigest()
out = {"rank": dist.get_rank(), "hit": hit, "n": len(cache), "digest": h, "dir": str(cache.dir)}
open(os.path.join(sys.argv[4], f"rank{dist.get_rank()}.json"), "w").write(json.dumps(out))
dist.barrier()
dist.destroy_process_group()
"""


def test_two_torchrun_ranks_share_one_cache(tiny_model_dir, tmp_path):
    data = _records(tmp_path / "stage1.jsonl", 40)
    script = tmp_path / "ranks.py"
    script.write_text(TWO_RANKS)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(script), str(tiny_model_dir), str(data), str(tmp_path / "cache"), str(tmp_path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # never leave the ranks behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert (r0["hit"], r1["hit"]) == (False, True)  # rank 0 wrote it, rank 1 waited and mapped it
    assert r0["digest"] == r1["digest"] and r0["dir"] == r1["dir"] and r0["n"] == 40
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [Path(r0["dir"]).name]


def test_pages_handed_back_while_reading_change_nothing(tok, tmp_path):
    data = _records(tmp_path / "d.jsonl", 25)
    enc = ChatEncoder(tok, max_length=128)
    cache, _ = open_cache(data, enc, tmp_path / "c", progress=False)
    again = TokenCache(cache.dir, release_every=1)  # madvise(DONTNEED) after every read
    assert [again.example(i) for i in reversed(range(len(again)))] == [cache.example(i) for i in reversed(range(len(cache)))]
    from taiyi.train.token_cache import CachedExamples

    ds = CachedExamples(again)
    assert ds.lengths.tolist() == [len(ds[i]["input_ids"]) for i in range(len(ds))]
    with pytest.raises(IndexError):
        again.example(len(again))


def test_columns_and_group_codes_read_across_many_batches(tok, tmp_path, monkeypatch):
    """Columns are copied out a batch at a time with pages handed back as they go; group codes are one numbering
    over all batches (each batch has its own Arrow dictionary)."""
    from taiyi.train import token_cache

    monkeypatch.setattr(token_cache, "BATCH_ROWS", 2)
    monkeypatch.setattr(token_cache, "RELEASE_BATCHES", 3)
    data = _records(tmp_path / "d.jsonl", 23)
    enc = ChatEncoder(tok, max_length=128)
    cache, _ = open_cache(data, enc, tmp_path / "c", num_proc=2, progress=False)
    assert len(cache._batches) > 6
    datasets = [json.loads(line).get("dataset") for line in data.read_text().splitlines()][:-1]  # the last is dropped
    assert list(cache.column("dataset")) == datasets
    codes, names = cache.codes("dataset")
    assert [names[c] for c in codes] == datasets and sorted(names) == ["a", "b", "c"]
    assert cache.column("length").tolist() == [len(cache.example(i)["input_ids"]) for i in range(len(cache))]
