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


@pytest.fixture(scope="session")
def headless_chromium():
    """The CDP helper module (tests/infer/headless_chromium.py), loaded by path: pytest runs in importlib mode."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).with_name("headless_chromium.py")
    spec = importlib.util.spec_from_file_location("taiyi_test_headless_chromium", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
