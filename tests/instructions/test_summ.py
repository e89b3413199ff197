"""summ codec: t2t and qa sources, round trip in every phrasing, label stripping, ROUGE-L."""

from __future__ import annotations

import random

import pytest

from taiyi.corpus.schema import new_record
from taiyi.evaluate.metrics import get_metric
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.registry import get_task

TASK = get_task("summ")
CHQ = "Hi, my mother (72) was told she has macular degeneration. She already takes vitamins. Is there any treatment?"
SUM = "What are the treatments for macular degeneration?"


@pytest.mark.parametrize("rec", [
    new_record("t2t", id="1", document_id="1", dataset="meqsum", split="train", lang="en", text_1=CHQ,
               text_2=f"  {SUM} ", text_1_name="question", text_2_name="summary"),
    new_record("qa", id="2", document_id="2", dataset="meqsum", split="train", lang="en", question=CHQ,
               answer=[SUM], type="free"),
])
def test_sources_and_round_trip(rec):
    (i,) = TASK.examples(rec, random.Random(0), {"name": "meqsum", "lang": "en"}, mode="eval")
    assert i.target == SUM and CHQ in i.messages[0]["content"]
    for k in range(len(load_templates("summ", "en").answers)):
        assert TASK.parse(TASK.render(i.target, i.meta, k), i.meta) == SUM


def test_empty_sources_give_nothing_and_sloppy_answers():
    rec = new_record("t2t", id="3", document_id="3", dataset="meqsum", split="train", lang="en", text_1=CHQ,
                     text_2=" ", text_1_name="question", text_2_name="summary")
    assert TASK.examples(rec, random.Random(0), {"lang": "en"}) == []
    meta = {"lang": "en", "phrasing": 0}
    assert TASK.parse("**Summary:** " + SUM, meta) == SUM
    with pytest.raises(ParseError):
        TASK.parse("Summary:", meta)
    score = get_metric("rouge_l")([TASK.parse("Summary: " + SUM, meta)], [SUM], [{"lang": "en"}])["score"]
    assert score == pytest.approx(100.0)


def test_round_trip_on_the_real_meqsum_file(shared_datasets):
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    entry = get_entry("meqsum")
    assert entry.data["tasks"] == ["summ"]
    recs = convert.read_dataset("meqsum", shared_datasets)["train"]
    made = [i for n, r in enumerate(recs) for i in TASK.examples(r, random.Random(n), dict(entry.data), mode="eval")]
    assert len(made) == len(recs) == 1000
    for i in made:
        assert len(i.target) < len(i.messages[0]["content"])
        for k in range(len(load_templates("summ", "en").answers)):
            assert TASK.parse(TASK.render(i.target, i.meta, k), i.meta) == i.target
