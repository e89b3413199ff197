"""Safe file handling shared by every stage: JSONL with line-numbered errors, atomic writes, manifests.

Why: every stage must "lose nothing" on bad input and never leave half-written outputs. All writes go
to a temporary sibling and are renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from taiyi import __version__


class DataError(ValueError):
    """Bad input data. The message always names the file and line (or record id) and what is wrong."""


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """Yield the objects of a JSONL file; a malformed line raises DataError naming file and line."""
    for _, obj in read_jsonl_numbered(path):
        yield obj


def read_jsonl_numbered(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line, for readers that cite lines in their own errors."""
    path = Path(path)
    with open(path, "rb") as fh:
        for line_no, line in enumerate(fh, 1):
            if line_no == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not data
            if line.strip():
                yield line_no, parse_jsonl_line(line, path, line_no)


def parse_jsonl_line(line: bytes, path: str | Path, line_no: int) -> dict:
    """One JSONL line as an object; malformed JSON or a non-object is a DataError naming file and line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path}:{line_no}: malformed JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
    return obj


def dumps(obj: Any) -> bytes:
    """One JSON line (bytes, no newline); non-ASCII kept as is so Chinese stays readable."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


TMP_TAG = "taiyi-tmp"  # temp siblings: .<name>.taiyi-tmp-<pid>-<host>-<random>; .<name>.old-<pid>-<host> while swapping


def _host() -> str:
    """This machine's name, in the temp names: a pid is only known dead on the machine that ran it (shared disks)."""
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_temps(path: str | Path) -> list[Path]:
    """Remove the temp siblings of ``path`` left by killed runs (their process is gone); returns what went.

    Why: a run killed mid-write leaves its ``.<name>.taiyi-tmp-<pid>-<host>-*`` folder behind (tens of MB); the
    next run cleans it, while temps of runs still alive (or of other machines) are left alone. A run killed
    between moving the old output aside and moving the new one in leaves ``.<name>.old-<pid>-<host>`` and no
    ``<name>``: that is the
    previous good output, so it is put back rather than deleted.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    removed = []
    for p in path.parent.iterdir():
        rest = p.name[len(path.name) + 2:] if p.name.startswith(f".{path.name}.") else None
        if rest is None:
            continue
        if rest.startswith(f"{TMP_TAG}-") or rest.startswith("old-"):
            fields = rest.split("-")[2:4] if rest.startswith(TMP_TAG) else rest.split("-")[1:3]
            if len(fields) < 2 or not fields[0].isdigit() or fields[1] != _host() or _pid_alive(int(fields[0])):
                continue  # still running, or another machine's run: not ours to judge
        elif not (rest.endswith(".tmp") and time.time() - p.stat().st_mtime > 3600):  # older versions' temps
            continue
        if rest.startswith("old-") and not path.exists():
            os.replace(p, path)
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.{TMP_TAG}-{os.getpid()}-{_host()}-"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp directory beside ``path``; it replaces ``path`` only if the block succeeds.

    Temps of earlier killed runs are cleaned first (``clean_stale_temps``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}-{_host()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write records atomically as JSONL; returns the number written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for rec in records:
            fh.write(dumps(rec))
            fh.write(b"\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    """Write one pretty JSON document atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))  # a byte-order mark is not data
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed JSON ({exc})") from None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def manifest(stage: str, inputs: Iterable[str | Path], config: dict | None = None, **extra: Any) -> dict:
    """The provenance record every stage writes beside its outputs (design §1)."""
    files = []
    for p in inputs:
        p = Path(p)
        if p.is_file():
            files.append({"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size})
    return {
        "stage": stage,
        "taiyi_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": files,
        "config": config or {},
        **extra,
    }


def validation_message(exc, where: str) -> str:
    """One line per pydantic error: ``<where>: <field path>: <message> (got <input>)``."""
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        got = repr(e.get("input"))
        lines.append(f"{where}: {loc}: {e['msg']} (got {got[:80]})")
    return "\n".join(lines)


def shard_name(path: str | Path, index: int, total: int) -> Path:
    """``stage2.jsonl`` -> ``stage2-00003-of-00012.jsonl`` (the names ``expand_shards`` finds)."""
    path = Path(path)
    return path.with_name(f"{path.stem}-{index:05d}-of-{total:05d}{path.suffix}")


def expand_shards(path: str | Path) -> list[Path]:
    """The files of one logical JSONL: ``path`` itself, or its shards ``<stem>-NNNNN-of-MMMMM<suffix>`` in order.

    Why: a large build writes shards; every reader takes the logical name (``instructions/stage2.jsonl``) so
    recipes and commands stay the same at any size. A shard set with a missing member is an error.
    """
    import re

    path = Path(path)
    if path.is_file():
        return [path]
    pat = re.compile(rf"^{re.escape(path.stem)}-(\d{{5}})-of-(\d{{5}}){re.escape(path.suffix)}$")
    found = sorted((int(m.group(1)), int(m.group(2)), p) for p in (path.parent.glob(f"{path.stem}-*")
                                                                      if path.parent.is_dir() else [])
                   if (m := pat.match(p.name)))
    if not found:
        raise DataError(f"{path}: instructions file not found (nor its shards {path.stem}-NNNNN-of-MMMMM{path.suffix})")
    totals = {t for _, t, _ in found}
    if len(totals) != 1 or [i for i, _, _ in found] != list(range(totals.pop())):
        raise DataError(f"{path}: incomplete or mixed shard set: {[p.name for _, _, p in found][:6]}")
    return [p for _, _, p in found]
