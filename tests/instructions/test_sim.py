"""sim codec: numeric answers on the dataset's scale, round trip, robust number reading, correlation metrics."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.evaluate.metrics import get_metric
from taiyi.instructions.tasks import sim
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.registry import get_task, with_facts

TASK = get_task("sim")
INFO = {"name": "biosses", "lang": "en", "tasks": ["sim"]}


def pair(rid: str, score: str, lang: str = "en") -> dict:
    return new_record("pairs", id=rid, document_id=rid, dataset="biosses", split="test", lang=lang,
                      text_1="KRAS mutant cells need GATA2.", text_2="GATA2 knockdown kills KRAS mutant cells.", label=score)


def test_scale_from_dataset_facts_and_round_trip_in_every_phrasing():
    recs = [pair("1", "0.2"), pair("2", "3.8"), pair("3", "2"), pair("4", "not a number")]
    info = with_facts(TASK, INFO, lambda: iter(recs))
    assert info["facts"]["sim"] == {"low": 0.0, "high": 4.0}
    assert TASK.examples(recs[3], random.Random(0), info) == []
    for lang in ("en", "zh"):
        for r in recs[:3]:
            (i,) = TASK.examples({**r, "lang": lang}, random.Random(1), {**info, "lang": lang}, mode="eval")
            assert i.target == float(r["label"]) and i.meta["low"] == "0" and i.meta["high"] == "4"
            assert "0" in i.messages[0]["content"] and "4" in i.messages[0]["content"]
            for k in range(len(load_templates("sim", lang).answers)):
                assert TASK.parse(TASK.render(i.target, i.meta, k), i.meta) == i.target


@pytest.mark.parametrize("x", [0.0, 3.25, 370.5, 9.32, 1e-05, 1600.0, 0.1 + 0.2])
def test_numbers_read_back_exactly(x):
    assert float(sim.number(x)) == x


def test_sloppy_answers():
    meta = {"lang": "zh", "phrasing": 0, "low": "0", "high": "4"}
    assert TASK.parse("评分：３.５", meta) == 3.5
    assert TASK.parse("相似度为3分（满分4分）", meta) == 3.0
    assert TASK.parse("**Score:** 2.75 out of 4", meta) == 2.75
    assert TASK.parse("I'd say .5", meta) == 0.5
    for bad in (None, "", "   ", "quite similar"):
        with pytest.raises(ParseError):
            TASK.parse(bad, meta)


def test_correlation_metrics_score_parsed_answers():
    golds = [0.2, 3.8, 2.0]
    preds = [TASK.parse(t, {"lang": "en"}) for t in ("0.5", "Similarity score: 4", "2.1")]
    assert get_metric("spearman")(preds, golds, [{}] * 3)["score"] == pytest.approx(100.0)
    assert 90 < get_metric("pearson")(preds, golds, [{}] * 3)["score"] < 100


@pytest.mark.parametrize("lo,hi,want", [(0.2, 3.8, (0, 4)), (0, 10, (0, 10)), (142, 1534, (100, 1600)), (1, 9.5, (1, 10))])
def test_scale_rounds_outward_to_a_fitting_step(lo, hi, want):
    assert sim.scale(lo, hi) == want


def test_gold_scores_are_rounded():
    assert sim.gold_score(pair("x", "1.3333333333333333")) == 1.33


@pytest.mark.parametrize("name", ["biosses", "bio_simlex", "umnsrs", "mayosrs", "minimayosrs", "ehr_rel"])
def test_round_trip_on_the_real_files(shared_datasets, name):
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    entry = get_entry(name)
    assert entry.data["tasks"] == ["sim"]
    recs = [r for split in convert.read_dataset(name, shared_datasets).values() for r in split]
    info = with_facts(TASK, dict(entry.data), lambda: iter(recs))
    low, high = info["facts"]["sim"]["low"], info["facts"]["sim"]["high"]
    made = [i for n, r in enumerate(recs) for i in TASK.examples(r, random.Random(n), info, mode="eval")]
    assert len(made) == len(recs) > 20
    for i in made:
        assert low <= i.target <= high and i.target == round(i.target, 2)
        for k in range(len(load_templates("sim", "en").answers)):
            assert TASK.parse(TASK.render(i.target, i.meta, k), i.meta) == i.target
    golds = [i.target for i in made]
    assert get_metric("pearson")(golds, golds, [{}] * len(golds))["score"] == pytest.approx(100.0)
