"""Shared fixtures. Real-data tests read ../shared/datasets (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("TAIYI_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """Root of the real public datasets (../shared/datasets); skipped with a reason when absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATASETS} (set TAIYI_SHARED_DATASETS)")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-initialised tiny Qwen2 chat model with a locally trained tokenizer (built once per session)."""
    from taiyi.train.tiny_model import build_tiny_model

    texts = [
        "Aspirin reduces the risk of myocardial infarction.",
        "阿司匹林可以降低心肌梗死的风险。",
        "Extract the disease entities: Disease: asthma; Chemical: salbutamol",
        "问题：糖尿病的症状有哪些？答案：多饮、多尿、多食和体重下降。",
    ] * 200
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model") / "model", texts, size="tiny")


def cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


requires_cuda = pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU (4-bit GPU path / vLLM); none here")


@pytest.fixture(scope="session")
def shared_corpus(shared_datasets, tmp_path_factory) -> Path:
    """All of ../shared/datasets converted once per test session (``taiyi convert --all``); returns the corpus dir.

    Layout: ``<dir>/<dataset>/<split>.jsonl`` + ``meta.json`` per dataset, ``<dir>/manifest.json``.
    """
    import taiyi.sources.convert as convert
    out = tmp_path_factory.mktemp("shared_corpus") / "corpus"
    convert.convert_all(shared_datasets, out, progress=False)
    return out
