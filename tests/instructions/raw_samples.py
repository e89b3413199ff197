"""Real records of the converted test corpus (``shared_corpus`` fixture) for the codec round-trip tests.

Why: the extraction/classification codecs (ner, re, ee, cls, pair) must satisfy ``parse(render(t)) == t`` for every
gold target of every dataset. The ``shared_corpus`` fixture has already converted ../shared/datasets once per
session, so these helpers read that corpus (never the raw files again) and reduce it to its *distinct* round-trip
cases: the same (prompt language, offered labels, target) renders and parses identically, and most corpora repeat
targets (empty sentences, a handful of labels), so each distinct case is checked once, in every phrasing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Hashable, Iterator

import orjson


def corpus_records(corpus: Path, task: str) -> Iterator[tuple[dict, dict]]:
    """(record, info) for every labelled record of every dataset in a converted corpus whose meta.json lists ``task``."""
    for meta_path in sorted(Path(corpus).glob("*/meta.json")):
        info = orjson.loads(meta_path.read_bytes())
        if task not in info.get("tasks", []):
            continue
        for split in sorted(meta_path.parent.glob("*.jsonl")):
            if split.stem == "test_unlabelled":
                continue
            with open(split, "rb") as fh:
                for line in fh:
                    if line.strip():
                        yield orjson.loads(line), info


def with_dataset_facts(corpus: Path, task, pairs: Iterator[tuple[dict, dict]]) -> Iterator[tuple[dict, dict]]:
    """``pairs`` ((record, info) of ``corpus_records``) with each dataset's info carrying the task's dataset facts
    computed over all that dataset's records (as ``taiyi build`` does over the splits it builds)."""
    from taiyi.instructions.tasks.registry import with_facts

    done: dict[str, dict] = {}
    for rec, info in pairs:
        name = info["name"]
        if name not in done:
            done[name] = with_facts(task, info, lambda: (r for r, i in corpus_records(corpus, task.name) if i["name"] == name))
        yield rec, done[name]


def distinct_cases(corpus: Path, task: str, case: Callable[[dict, dict], tuple[Hashable, object] | None]):
    """Distinct round-trip cases of ``task`` over the converted corpus.

    ``case(record, info)`` returns ``(key, value)`` (key: everything render/parse depend on, hashable) or None to
    skip the record. Returns ``(cases, per_dataset)``: ``{key: value}`` over all datasets, and for each dataset
    the number of records and of distinct keys it contributed (``{name: (n_records, n_distinct)}``)."""
    cases: dict = {}
    seen: dict[str, set] = {}
    counts: dict[str, int] = {}
    for rec, info in corpus_records(corpus, task):
        got = case(rec, info)
        if got is None:
            continue
        key, value = got
        cases.setdefault(key, value)
        seen.setdefault(info["name"], set()).add(key)
        counts[info["name"]] = counts.get(info["name"], 0) + 1
    return cases, {name: (counts[name], len(keys)) for name, keys in seen.items()}
