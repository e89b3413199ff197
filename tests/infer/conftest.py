"""Fixtures for the inference tests: one loaded tiny engine per session, and decoding settings that give
varied text (a random tiny model with tied embeddings otherwise repeats "\\n" forever; a strong repetition
penalty makes greedy output diverse while staying deterministic)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine(tiny_model_dir):
    from taiyi.infer.engine import load_engine

    return load_engine(str(tiny_model_dir), batch_size=4)


@pytest.fixture()
def greedy():
    from taiyi.infer.engine import GenerationParams

    return GenerationParams.greedy(max_new_tokens=12, min_new_tokens=12, repetition_penalty=5.0)
