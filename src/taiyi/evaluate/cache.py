"""The prediction cache: ``predictions.jsonl``, one line per answered item, appended batch by batch.

Why: a long evaluation must survive an interruption and a re-run must only re-score; answers are keyed by
(benchmark, item id) and the hash of the prompt, so a changed prompt is answered again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

import orjson

from taiyi.evaluate.items import prompt_key
from taiyi.files import DataError, dumps
from taiyi.instructions.tasks.base import Instruction

log = logging.getLogger(__name__)


class PredictionCache:
    """``predictions.jsonl``: one line per answered item, appended batch by batch (a torn last line is dropped)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: dict[tuple[str, str], dict] = {}
        if self.path.exists():
            data = self.path.read_bytes()
            lines = data.split(b"\n")
            complete = lines[:-1]  # the part after the last newline is a torn write (or empty)
            for n, line in enumerate(complete, 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise DataError(f"{self.path}:{n}: malformed JSON ({exc}); delete the file to start over") from None
                self.rows[(row["benchmark"], row["id"])] = row
            if lines[-1].strip():
                log.warning("%s: dropping a torn last line (interrupted write)", self.path)
                with open(self.path, "wb") as fh:
                    fh.write(b"\n".join(complete) + (b"\n" if complete else b""))

    def get(self, bench: str, item: Instruction) -> dict | None:
        row = self.rows.get((bench, item.id))
        return row if row is not None and row.get("prompt_sha") == prompt_key(item) else None

    def add(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            for row in rows:
                fh.write(dumps(row) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        for row in rows:
            self.rows[(row["benchmark"], row["id"])] = row
