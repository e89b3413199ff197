"""The QLoRA memory estimate: shapes match real parameter counts, recipes carry the estimator's figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from taiyi.train.memory import SHAPES, estimate_recipe, estimate_training_memory, shape_from_config
from taiyi.train.recipe import load_recipe

REPO = Path(__file__).resolve().parents[2]


def test_shape_counts_the_parameters_of_a_real_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    shape = shape_from_config(tiny_model_dir)
    linear = sum(m.weight.numel() for n, m in model.named_modules()
                 if n.endswith(("_proj",)) and hasattr(m, "weight"))
    assert shape.linear_params == linear
    assert shape.embedding_params == model.get_input_embeddings().weight.numel()  # tied


@pytest.mark.parametrize("hub_id,billions", [("Qwen/Qwen2.5-7B", 7.6), ("Qwen/Qwen3-8B-Base", 8.2),
                                             ("meta-llama/Llama-3.1-8B", 8.0), ("THUDM/glm-4-9b-hf", 9.4)])
def test_known_shapes_have_the_published_sizes(hub_id, billions):
    assert SHAPES[hub_id].params / 1e9 == pytest.approx(billions, abs=0.1)


@pytest.mark.parametrize("name", ["taiyi-qwen2.5-7b", "taiyi-qwen3-8b", "taiyi-llama3.1-8b", "taiyi-glm4-9b"])
def test_recipes_carry_the_estimate(name):
    rec = load_recipe(REPO / "recipes" / f"{name}.yaml")
    assert (rec.quantization, rec.finetune, rec.lora.r, rec.max_length) == ("4bit", "lora", 64, 1024)
    est = estimate_recipe(rec)
    assert rec.est_gpu_memory_gb == est["total"]
    assert est["weights"] < est["total"] and est["logits"] > 0


def test_estimate_grows_with_batch_and_without_quantisation_or_checkpointing():
    s = SHAPES["Qwen/Qwen2.5-7B"]
    base = estimate_training_memory(s, max_length=1024, micro_batch=4, lora_r=64)["total"]
    assert estimate_training_memory(s, max_length=1024, micro_batch=8, lora_r=64)["total"] > base
    assert estimate_training_memory(s, max_length=1024, micro_batch=4, lora_r=64, quantization="none")["total"] > base + 4
    assert estimate_training_memory(s, max_length=1024, micro_batch=4, lora_r=64,
                                    gradient_checkpointing=False)["total"] > base + 10
