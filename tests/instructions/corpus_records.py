"""Records of the converted test corpus (``shared_corpus`` fixture), filtered by schema, for round-trip tests.

Why: each codec's real-data round-trip walks the same corpus layout (``<dir>/<dataset>/<split>.jsonl`` +
``meta.json``); reading only the schemas a codec can use keeps those tests fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator


def records(corpus: Path, schemas: set[str]) -> Iterator[tuple[dict, dict]]:
    """(dataset meta, record) for every record of every dataset whose schema is in ``schemas``."""
    for meta_path in sorted(Path(corpus).glob("*/meta.json")):
        info = json.loads(meta_path.read_text(encoding="utf-8"))
        if info.get("schema") not in schemas:
            continue
        for split in sorted(meta_path.parent.glob("*.jsonl")):
            with open(split, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield info, json.loads(line)
