"""Concept-level relation F1 (BioCreative V CDR's CID measure) on the real BC5CDR and BioRED test sets
(../shared/datasets): the oracle scores 100, and so does every gold pair named by a *different* mention of its
concepts, which the string-level score does not forgive."""

from __future__ import annotations

import pytest

from taiyi.evaluate import registry, runner
from taiyi.evaluate.metrics import get_metric
from taiyi.instructions.benchmarks import Benchmark
from taiyi.text import normalise


def _units(items):
    return [it for it in items if "concept_relations" in it.meta]


@pytest.fixture(scope="module")
def cdr(shared_datasets):
    return runner.load_items(registry.select(["BC5CDR"])[0], data_root=shared_datasets)


@pytest.fixture(scope="module")
def biored_re(shared_datasets):
    bench = Benchmark(name="BioRED-RE", dataset="biored", split="test", task="re", lang="en")
    return runner.load_items(bench, data_root=shared_datasets)


def _other_mention(item, name):
    """Another annotated mention string of the same concepts as ``name`` (None when the document has none)."""
    cons = item.meta["concepts"]
    ids = {tuple(i) for _, m, i in cons if m == name}
    others = [m for _, m, i in cons if tuple(i) in ids and normalise(m) != normalise(name)]
    return sorted(others)[0] if others else None


def _score(name, items, preds):
    ctx = [{"meta": it.meta} for it in items]
    return get_metric(name)(preds, [it.target for it in items], ctx)


@pytest.mark.parametrize("which", ["cdr", "biored_re"])
def test_oracle_and_other_mentions_score_100(which, request):
    items = _units(request.getfixturevalue(which))
    assert len(items) >= 50
    oracle = _score("concept_f1", items, [it.target for it in items])
    if which == "cdr":
        assert oracle["score"] == 100.0
    else:  # BioRED annotates some strings with several ids in one document: extra pairs, every gold pair found
        assert oracle["recall"] == 100.0 and oracle["score"] > 95.0
        return
    renamed, changed = [], 0
    for it in items:
        rows = []
        for t, h, tl in it.target:
            h2, t2 = _other_mention(it, h) or h, _other_mention(it, tl) or tl
            changed += (h2, t2) != (h, tl)
            rows.append([t, h2, t2])
        renamed.append(rows)
    assert changed >= 50
    res = _score("concept_f1", items, renamed)
    assert res["score"] == 100.0 and res["unmapped"] == 0
    assert _score("micro_f1", items, renamed)["score"] < 95.0  # the string-level figure does not forgive it


def test_wrong_unmappable_and_unreadable_answers_count(cdr):
    items = _units(cdr)
    golds = [it.target for it in items]
    swapped = [[[t, tl, h] for t, h, tl in g] for g in golds]  # chemical and disease reversed: other pairs
    assert _score("concept_f1", items, swapped)["score"] == 0.0 or not any(golds)
    invented = [g + [["CID", "zzq-nothing", "delirium"]] for g in golds]
    res = _score("concept_f1", items, invented)
    assert res["unmapped"] == len(items) and res["score"] < 100.0
    assert _score("concept_f1", items, [None] * len(items))["score"] == 0.0


def test_records_without_ids_are_not_scored():
    res = get_metric("concept_f1")([[["r", "a", "b"]]], [[["r", "a", "b"]]], [{"meta": {}}])
    assert res["score"] is None and res["units"] == 0
