"""bitsandbytes 8-bit/4-bit loading (CPU here; the GPU path and vLLM run only where CUDA is present)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from taiyi.infer.engine import GenerationParams, load_engine


def _root_conftest():
    """tests/conftest.py as a module (its ``requires_cuda`` marker); conftest files are not importable by name."""
    spec = importlib.util.spec_from_file_location("_taiyi_root_conftest_infer", Path(__file__).parents[1] / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


requires_cuda = _root_conftest().requires_cuda
PARAMS = GenerationParams.greedy(max_new_tokens=5, min_new_tokens=5, repetition_penalty=5.0)
CONVS = [[{"role": "user", "content": "What is aspirin?"}], [{"role": "user", "content": "阿司匹林是什么？"}]]


def test_4bit_on_cpu(tiny_model_dir):
    bnb = pytest.importorskip("bitsandbytes")
    e = load_engine(str(tiny_model_dir), quantization="4bit", device="cpu")
    layers = [m for m in e.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.support_avx512bf16_for_cpu is False for m in layers)  # stack-notes §4 workaround
    full = e.generate_full(CONVS, PARAMS)
    assert [c.completion_tokens for c in full] == [5, 5] and all(c.text for c in full)
    assert e.generate(CONVS, PARAMS) == [e.generate([c], PARAMS)[0] for c in CONVS]


def test_8bit_on_cpu(tiny_model_dir):
    bnb = pytest.importorskip("bitsandbytes")
    e = load_engine(str(tiny_model_dir), quantization="8bit", device="cpu")
    assert any(isinstance(m, bnb.nn.Linear8bitLt) for m in e.model.modules())
    assert [c.completion_tokens for c in e.generate_full(CONVS, PARAMS)] == [5, 5]


@requires_cuda
def test_4bit_and_bf16_on_gpu(tiny_model_dir):
    import torch

    e = load_engine(str(tiny_model_dir), quantization="4bit")
    assert e.model.device.type == "cuda"
    assert [c.completion_tokens for c in e.generate_full(CONVS, PARAMS)] == [5, 5]
    bf16 = load_engine(str(tiny_model_dir))
    assert bf16.model.dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    assert bf16.generate(CONVS, PARAMS) == [bf16.generate([c], PARAMS)[0] for c in CONVS]


@requires_cuda
def test_vllm_engine(tiny_model_dir):
    pytest.importorskip("vllm", reason="vllm not installed (pip install 'taiyi[vllm]')")
    e = load_engine(str(tiny_model_dir), backend="vllm", gpu_memory_utilization=0.3)
    full = e.generate_full(CONVS, PARAMS.replace(repetition_penalty=1.0))
    assert [c.completion_tokens for c in full] == [5, 5]
    assert "".join(e.stream(CONVS[0], PARAMS)) == e.generate([CONVS[0]], PARAMS)[0]
