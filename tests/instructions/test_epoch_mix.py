"""Weighted per-epoch mixing: the configured proportions every epoch, a different subset of a capped source each
epoch (every example before any repeats), reproducible from the seed alone."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from taiyi.instructions.epoch_mix import EpochMix, EpochPlan, markdown


def _plan(seed=3, **kw):
    names = ["big", "small", "chat"]
    codes = np.array([0] * 1000 + [1] * 50 + [2] * 300, dtype=np.int32)
    np.random.default_rng(0).shuffle(codes)  # groups interleaved, as in a real file
    return EpochPlan(EpochMix(**kw), codes, names, seed), codes


def test_proportions_every_epoch():
    plan, codes = _plan(caps={"big": 200}, weights={"small": 2.0, "chat": 0.5})
    assert plan.quotas == {"big": 200, "small": 100, "chat": 150} and len(plan) == 450
    for e in range(4):
        idx = plan.indices(e)
        counts = np.bincount(codes[idx], minlength=3)
        assert counts.tolist() == [200, 100, 150]  # 44% / 22% / 33%, exactly, each epoch


def test_capped_source_shows_a_different_subset_each_epoch_and_all_before_repeats():
    plan, codes = _plan(caps={"big": 200})
    epochs = [set(plan.chosen(e)["big"].tolist()) for e in range(6)]
    assert all(len(s) == 200 for s in epochs)
    assert len(set().union(*epochs[:5])) == 1000  # five epochs of 200 cover the 1,000 once
    assert all(epochs[i] != epochs[j] for i in range(6) for j in range(i + 1, 6))
    assert all(codes[i] == 0 for s in epochs for i in s)
    rep = plan.report(6)
    assert rep["groups"]["big"]["new"] == [200] * 5 + [0]
    assert rep["groups"]["small"]["new"] == [50, 0, 0, 0, 0, 0]  # uncapped: every example every epoch


def test_upsampled_source_repeats_evenly():
    plan, codes = _plan(weights={"small": 3.0, "big": 0, "chat": 0})
    idx = plan.indices(0)
    assert len(idx) == 150 and np.bincount(idx)[np.flatnonzero(codes == 1)].tolist() == [3] * 50


def test_reproducible_from_the_seed():
    a, _ = _plan(seed=7, caps={"default": 120})
    b, _ = _plan(seed=7, caps={"default": 120})
    c, _ = _plan(seed=8, caps={"default": 120})
    assert all((a.indices(e) == b.indices(e)).all() for e in range(3))
    assert not (a.indices(0) == c.indices(0)).all()
    assert not (a.indices(0) == a.indices(1)).all()


def test_markdown_and_validation():
    plan, _ = _plan(caps={"big": 500}, by="dataset")
    md = "\n".join(markdown(plan.report(2)))
    assert "| big | 1,000 | 500 | 58.8% | 500 | 500 |" in md and "**850**" in md
    with pytest.raises(ValidationError, match="non-negative"):
        EpochMix(caps={"big": -1})
    with pytest.raises(ValidationError, match="extra"):
        EpochMix(weigths={"a": 1})
