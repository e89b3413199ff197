from __future__ import annotations

import pytest

from taiyi.infer.engine import GenerationParams, cut_at_stop, load_engine, validate_messages


def test_defaults_are_the_original_projects():
    p = GenerationParams()
    assert (p.max_new_tokens, p.temperature, p.top_p, p.do_sample, p.stop) == (500, 0.3, 0.9, True, ())
    g = GenerationParams.greedy(max_new_tokens=7)
    assert g.max_new_tokens == 7 and not g.sampling
    assert GenerationParams(stop="###").stop == ("###",)
    assert hash(GenerationParams()) == hash(GenerationParams())


@pytest.mark.parametrize("kw", [{"max_new_tokens": 0}, {"top_p": 0.0}, {"top_p": 1.5}, {"temperature": -1}])
def test_bad_params_are_rejected(kw):
    with pytest.raises(ValueError):
        GenerationParams(**kw)


def test_cut_at_stop():
    assert cut_at_stop("abc###def", ["###", "d"]) == ("abc", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)


def test_validate_messages_names_the_bad_item():
    with pytest.raises(ValueError, match=r"messages\[1\]\.role: unknown role 'robot'"):
        validate_messages([{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}])
    with pytest.raises(ValueError, match="non-empty"):
        validate_messages([])


def test_load_engine_rejects_unknown_choices():
    with pytest.raises(ValueError, match="backend"):
        load_engine("x", backend="tgi")
    with pytest.raises(ValueError, match="quantization"):
        load_engine("x", quantization="3bit")
    with pytest.raises(ValueError, match="endpoint"):
        load_engine("x", backend="openai")


def test_vllm_backend_explains_why_it_cannot_run():
    from taiyi.infer.engine import EngineError
    from taiyi.infer.vllm_engine import vllm_unavailable_reason

    reason = vllm_unavailable_reason()
    if reason is None:
        pytest.skip("vllm and CUDA are present here")
    with pytest.raises(EngineError, match="vLLM backend: .*(not installed|CUDA)"):
        load_engine("some/model", backend="vllm")
