"""Tokenize a stage's instructions once into an on-disk Arrow cache that every process memory-maps.

Why: at the paper's size (a million instructions) encoding in one process takes minutes and keeping every
example as Python lists costs ~8 GB per rank, paid again by every rank of a multi-GPU run and on every restart.
Here the encoded examples go, in parallel (``num_proc`` workers over line-aligned chunks of the file), into
Arrow IPC stream files under ``<root>/<key>/`` (``datasets.Dataset.from_file`` opens them too). The key is the
hash of the instruction file(s)' content + the tokenizer's identity (vocabulary, template, special tokens) + the
chat family + the thinking flag + max_length + the encoder version, so a second run or a resume finds it and
anything that would change the ids misses it. Only the local main process (LOCAL_RANK 0) writes, into a temp
folder renamed into place; the other ranks wait for it and map it. Columns: ``input_ids`` (uint16 when the
vocabulary fits, else int32), ``label_mask`` (bit-packed: labels are the ids inside answers and -100 elsewhere,
so a mask is lossless), ``length``, ``dataset``, ``task``, ``id``. Encoding statistics (kept, truncated, dropped
by reason) are those of ``chat_format.encode_file`` and are stored in ``meta.json``.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from taiyi.files import (DataError, _tmp_prefix, atomic_path, clean_stale_temps, expand_shards, parse_jsonl_line,
                         write_json)
from taiyi.train.chat_format import IGNORE_INDEX, ChatEncoder, EncodeStats, validate_messages

CACHE_VERSION = 1  # bump when the encoding of a record changes (ids, labels or columns)
BATCH_ROWS = 1000
RELEASE_BATCHES = 64  # while opening or copying a column out, mapped pages are handed back every this many batches
CHUNKS_PER_PROC = 16  # line-aligned pieces per worker: enough that a slow piece (long records) cannot hold up the end
UINT16_VOCAB = 65535  # vocabularies up to this size store ids as uint16, larger ones as int32
_WORKER: dict[str, Any] = {}


# ---------------------------------------------------------------------------------------------- the key


def tokenizer_fingerprint(tok) -> str:
    """What makes two tokenizers encode alike: vocabulary/merges, chat template, special tokens, class."""
    h = hashlib.sha256()
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    else:
        h.update(orjson.dumps(sorted(tok.get_vocab().items())))
    h.update(str(getattr(tok, "chat_template", "") or "").encode())
    h.update(orjson.dumps({str(k): str(v) for k, v in tok.special_tokens_map.items()}, option=orjson.OPT_SORT_KEYS))
    h.update(type(tok).__name__.encode())
    return h.hexdigest()


def content_hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        with open(p, "rb") as fh:
            while block := fh.read(1 << 22):
                h.update(block)
        h.update(b"\0--file--\0")
    return h.hexdigest()


def cache_key(files: list[Path], encoder: ChatEncoder) -> tuple[str, dict]:
    """(key, what it is made of); the key names the cache folder."""
    parts = {"version": CACHE_VERSION, "data_sha256": content_hash(files),
             "tokenizer": tokenizer_fingerprint(encoder.tokenizer), "chat_family": encoder.family.name,
             "thinking": encoder.thinking, "max_length": encoder.max_length}
    key = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]
    return key, parts


# ---------------------------------------------------------------------------------------------- writing


def _chunks(files: list[Path], n_chunks: int) -> list[tuple[str, int, int, int]]:
    """(file, start byte, end byte, first line number) pieces of about equal size, cut at line ends."""
    out = []
    for p in files:
        size = p.stat().st_size
        step = max(1, size // max(1, n_chunks))
        start, line = 0, 1
        with open(p, "rb") as fh:
            while start < size:
                fh.seek(min(size, start + step))
                fh.readline()  # to the end of the line the cut falls in
                end = min(size, fh.tell()) if start + step < size else size
                fh.seek(start)
                lines, left = 0, end - start
                while left > 0:  # counted in blocks: a chunk can be hundreds of MB
                    block = fh.read(min(left, 1 << 24))
                    lines, left = lines + block.count(b"\n"), left - len(block)
                out.append((str(p), start, end, line))
                start, line = end, line + lines
    return out


def _schema(wide: bool):
    import pyarrow as pa

    return pa.schema([("input_ids", pa.list_(pa.int32() if wide else pa.uint16())),
                      ("label_mask", pa.list_(pa.bool_())), ("length", pa.int32()),
                      ("dataset", pa.string()), ("task", pa.string()), ("id", pa.string())])


def _record_batch(schema, ids: list, masks: list, meta: dict):
    """One Arrow batch from per-example numpy arrays: list columns built from one flat array + offsets."""
    import pyarrow as pa

    offsets = np.zeros(len(ids) + 1, dtype=np.int32)
    np.cumsum([len(a) for a in ids], out=offsets[1:])
    flat_ids = pa.array(np.concatenate(ids), type=schema.field("input_ids").type.value_type)
    flat_mask = pa.array(np.concatenate(masks), type=pa.bool_())
    cols = {"input_ids": pa.ListArray.from_arrays(pa.array(offsets), flat_ids),
            "label_mask": pa.ListArray.from_arrays(pa.array(offsets), flat_mask),
            "length": pa.array(np.diff(offsets), type=pa.int32())}
    cols.update({k: pa.array(v, type=pa.string()) for k, v in meta.items()})
    return pa.record_batch([cols[k] for k in schema.names], schema=schema)


def _encode_chunk(args: tuple[str, int, int, int, str]) -> dict:
    """Encode one chunk into one Arrow stream file; returns its EncodeStats (as a dict) and row count."""
    import pyarrow as pa

    path, start, end, line, out = args
    encoder: ChatEncoder = _WORKER["encoder"]
    wide = _WORKER["wide"]
    schema = _schema(wide)
    dtype = np.int32 if wide else np.uint16
    stats = EncodeStats()
    ids_b: list = []
    masks_b: list = []
    meta_b: dict[str, list] = {"dataset": [], "task": [], "id": []}
    rows = 0

    def flush(writer):
        if ids_b:
            writer.write_batch(_record_batch(schema, ids_b, masks_b, meta_b))
            ids_b.clear()
            masks_b.clear()
            for v in meta_b.values():
                v.clear()

    with open(path, "rb") as fh, pa.OSFile(out, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        fh.seek(start)
        pos = start
        while pos < end:
            raw = fh.readline()
            pos += len(raw)
            line_no, line = line, line + 1
            if not raw.strip():
                continue
            rec = parse_jsonl_line(raw, path, line_no)
            rid = str(rec.get("id", f"line {line_no}"))
            msgs = validate_messages(rec.get("messages"), f"{path}: record {rid}")
            stats.seen += 1
            ex, status = encoder.encode(msgs)
            if ex is None:
                reason = status
            else:
                ids = np.asarray(ex["input_ids"], dtype=np.int64)
                labels = np.asarray(ex["labels"], dtype=np.int64)
                mask = labels != IGNORE_INDEX
                reason = None if mask.any() else "no_supervised_tokens"
            if reason:
                stats.dropped[reason] += 1
                stats.dropped_ids.append(rid)
                continue
            if (labels[mask] != ids[mask]).any():
                raise DataError(f"{path}: record {rid}: a label differs from its input id; cannot cache as a mask")
            stats.kept += 1
            stats.truncated += status == "truncated"
            stats.tokens += len(ids)
            stats.supervised_tokens += int(mask.sum())
            ids_b.append(ids.astype(dtype))
            masks_b.append(mask)
            meta_b["dataset"].append(str(rec.get("dataset", "")))
            meta_b["task"].append(str(rec.get("task", "")))
            meta_b["id"].append(rid)
            rows += 1
            if len(ids_b) >= BATCH_ROWS:
                flush(writer)
        flush(writer)
    return {"stats": stats.as_dict(), "rows": rows}


def merge_stats(parts: list[dict]) -> EncodeStats:
    """One EncodeStats from the workers' (in chunk order, so the dropped-id sample is the file's first)."""
    out = EncodeStats()
    for p in parts:
        out.seen += p["seen"]
        out.kept += p["kept"]
        out.truncated += p["truncated"]
        out.dropped.update(Counter(p["dropped"]))
        out.dropped_ids += p["dropped_ids_sample"][: max(0, 20 - len(out.dropped_ids))]
        out.tokens += p["tokens"]
        out.supervised_tokens += p["supervised_tokens"]
    return out


def write_cache(files: list[Path], encoder: ChatEncoder, dest: Path, parts: dict, *, num_proc: int = 1,
                progress: bool = True) -> None:
    """Encode ``files`` into the folder ``dest`` (written into a temp sibling, renamed into place)."""
    from tqdm.auto import tqdm

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # workers are forked; the Rust pool must not be
    num_proc = max(1, int(num_proc))
    chunks = _chunks(files, num_proc * CHUNKS_PER_PROC if num_proc > 1 else 1)
    _WORKER["encoder"], _WORKER["wide"] = encoder, len(encoder.tokenizer) > UINT16_VOCAB
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(dest)  # what a killed writer left
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(dest), dir=dest.parent))
    try:
        jobs = [(*c, str(tmp / f"part-{i:05d}.arrow")) for i, c in enumerate(chunks)]
        bar = tqdm(total=len(jobs), desc=f"encode {files[0].name}", unit="chunk", disable=not progress)
        if num_proc > 1 and len(jobs) > 1:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            with ctx.Pool(num_proc) as pool:
                results = []
                for r in pool.imap(_encode_chunk, jobs):
                    results.append(r)
                    bar.update(1)
        else:
            results = []
            for j in jobs:
                results.append(_encode_chunk(j))
                bar.update(1)
        bar.close()
        stats = merge_stats([r["stats"] for r in results])
        write_json(tmp / "meta.json", {"key": dest.name, **parts, "files": [str(p) for p in files],
                                       "parts": [Path(j[-1]).name for j in jobs],
                                       "rows": [r["rows"] for r in results], "stats": stats.as_dict(),
                                       "num_proc": num_proc, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        if dest.exists():  # another writer finished first: same key, same content
            return
        try:
            os.replace(tmp, dest)
        except OSError:
            if not (dest / "meta.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- reading


class TokenCache:
    """The memory-mapped examples of one cache folder: ``len``, ``example(i)``, and per-example columns.

    Pages of the mapped files that were read are handed back to the page cache every ``release_every`` (512)
    examples (``madvise(DONTNEED)``; the data stays in the kernel's cache, shared by every rank), so a long
    epoch does not grow the process's resident set to the size of the files.
    """

    def __init__(self, folder: str | Path, release_every: int = 512):
        import pyarrow as pa

        self.dir = Path(folder)
        self.meta = orjson.loads((self.dir / "meta.json").read_bytes())
        self._maps, self._batches = [], []
        for name in self.meta["parts"]:
            path = self.dir / name
            if path.stat().st_size == 0:
                continue
            with open(path, "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self._maps.append(mm)
            reader = pa.ipc.open_stream(pa.BufferReader(pa.py_buffer(mm)))
            for b in reader:
                if b.num_rows:
                    self._batches.append(b)
                if len(self._batches) % RELEASE_BATCHES == 0:  # reading each batch's header touched its pages
                    _release(mm)
            _release(mm)
        sizes = np.array([b.num_rows for b in self._batches], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self._views: dict[int, tuple] = {}
        self.release_every, self._reads = int(release_every), 0
        self.release_pages()

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def stats(self) -> EncodeStats:
        return merge_stats([self.meta["stats"]])

    def _each_batch(self, fn) -> list:
        """``fn(batch)`` for every batch, the mapped pages handed back every RELEASE_BATCHES batches and at the end
        (what ``fn`` copies out stays; the pages it read need not)."""
        out = []
        for k, b in enumerate(self._batches, 1):
            out.append(fn(b))
            if k % RELEASE_BATCHES == 0:
                self.release_pages()
        self.release_pages()
        return out

    def column(self, name: str) -> np.ndarray:
        """A whole scalar column (length, dataset, task, id) as one numpy array."""
        if not self._batches:
            return np.array([])
        return np.concatenate(self._each_batch(
            lambda b: np.array(b.column(name).to_numpy(zero_copy_only=False), copy=True)))

    def codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """(int code per example, names) of a string column, for grouping without a million Python strings."""
        names: dict[str, int] = {}

        def batch_codes(b) -> np.ndarray:  # each batch has its own dictionary: renumbered into one
            enc = b.column(name).dictionary_encode()
            remap = np.array([names.setdefault(v, len(names)) for v in enc.dictionary.to_pylist()], dtype=np.int32)
            return remap[enc.indices.to_numpy()] if len(remap) else np.zeros(0, np.int32)

        out = self._each_batch(batch_codes)
        return (np.concatenate(out) if out else np.zeros(0, np.int32)), list(names)

    def _view(self, b: int) -> tuple:
        v = self._views.get(b)
        if v is None:
            batch = self._batches[b]
            ids, mask = batch.column(0), batch.column(1)
            v = (ids.offsets.to_numpy(), ids.values.to_numpy(), mask.offsets.to_numpy(), mask.values)
            self._views[b] = v
        return v

    def example(self, i: int) -> dict:
        """{"input_ids", "labels"} of example ``i`` (labels: -100 outside the answers)."""
        if i < 0 or i >= len(self):
            raise IndexError(i)
        b = int(np.searchsorted(self.starts, i, side="right") - 1)
        r = i - int(self.starts[b])
        offs, values, moffs, mvalues = self._view(b)
        ids = values[offs[r]: offs[r + 1]].astype(np.int64)
        mask = mvalues.slice(int(moffs[r]), int(moffs[r + 1] - moffs[r])).to_numpy(zero_copy_only=False)
        self._reads += 1
        if self.release_every and self._reads % self.release_every == 0:
            self.release_pages()
        return {"input_ids": ids.tolist(), "labels": np.where(mask, ids, IGNORE_INDEX).tolist()}

    def release_pages(self) -> None:
        for mm in self._maps:
            _release(mm)


def _release(mm: mmap.mmap) -> None:
    """Hand a mapping's resident pages back (they stay in the page cache); a no-op where madvise is missing."""
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


class CachedExamples:
    """The torch-style dataset the Trainer reads: ``len`` and ``[i]`` over a TokenCache (lengths for samplers)."""

    def __init__(self, cache: TokenCache):
        self.cache = cache
        self.lengths = cache.column("length").astype(np.int64) if len(cache) else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, i: int) -> dict:
        return self.cache.example(int(i))


# ---------------------------------------------------------------------------------------------- one entry


def _is_writer() -> bool:
    """The local main process of a distributed run (or the only process) writes the cache."""
    return int(os.environ.get("LOCAL_RANK", "0")) == 0


def open_cache(data: str | Path, encoder: ChatEncoder, root: str | Path, *, num_proc: int = 1,
               progress: bool = True, wait_s: float | None = None) -> tuple[TokenCache, bool]:
    """The cache of ``data`` (a file, or the stem of its shards) for this encoder: (cache, hit).

    ``hit`` is True when the cache was already there (or written by another rank of this run).
    """
    files = expand_shards(data)
    key, parts = cache_key(files, encoder)
    root = Path(root)
    dest = root / key
    failed = root / f"{key}.failed"
    if (dest / "meta.json").is_file():
        return TokenCache(dest), True
    if _is_writer():
        failed.unlink(missing_ok=True)
        try:
            write_cache(files, encoder, dest, parts, num_proc=num_proc, progress=progress)
        except BaseException as exc:
            with atomic_path(failed) as tmp:
                tmp.write_text(f"{type(exc).__name__}: {exc}"[:2000], encoding="utf-8")
            raise
        return TokenCache(dest), False
    wait_s = float(os.environ.get("TAIYI_CACHE_WAIT_S", 6 * 3600)) if wait_s is None else wait_s
    t0 = time.time()
    while not (dest / "meta.json").is_file():
        if failed.is_file() and failed.stat().st_mtime >= t0 - 5:
            raise DataError(f"token cache {dest}: the main process failed to write it: {failed.read_text()}")
        if time.time() - t0 > wait_s:
            raise DataError(f"token cache {dest}: not written by the main process within {wait_s:.0f}s")
        time.sleep(0.2)
    return TokenCache(dest), True
