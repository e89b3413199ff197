"""QLoRA (4-bit nf4 via bitsandbytes) trains on CPU; the merged model generates what base + adapter generates."""

from __future__ import annotations

import json
import math

import pytest
import torch

from taiyi.files import DataError, read_jsonl
from taiyi.train.merge import merge_adapter
from taiyi.train.recipe import recipe_from_dict
from taiyi.train.trainer import load_model, run_training

bnb = pytest.importorskip("bitsandbytes")


@pytest.fixture(scope="module")
def qlora_run(tiny_recipe, tiny_model_dir, instruction_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("qlora")
    raw = tiny_recipe(tiny_model_dir, instruction_files, out, quantization="4bit", learning_rate=2e-2)
    raw["stages"]["stage1"]["max_steps"], raw["stages"]["stage2"]["max_steps"] = 3, 2
    rec = recipe_from_dict(raw)
    paths = run_training(rec, progress=False)  # stage 2 continues the stage-1 adapter on the 4-bit base
    return rec, paths


def test_qlora_4bit_trains_on_cpu(qlora_run, tiny_model_dir):
    rec, paths = qlora_run
    losses = [r["loss"] for r in read_jsonl(paths["stage1"]["train_log"]) if "loss" in r]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    model = load_model(rec, str(tiny_model_dir))
    n4 = sum(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    assert n4 == 14  # every linear layer of the 2-layer model is nf4, lm_head is not
    q = next(m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit))
    assert q.weight.quant_type == "nf4" and q.weight.quant_state.nested  # double quantisation
    with open(paths["stage1"]["adapter"] + "/adapter_config.json") as fh:
        cfg = json.load(fh)
    kinds = {t.rsplit(".", 1)[-1] for t in cfg["target_modules"]}
    assert kinds == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}  # not lm_head


def _greedy(model, tok, prompts):
    out = []
    for p in prompts:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        gen = model.generate(**ids, max_new_tokens=12, min_new_tokens=12, do_sample=False)
        out.append(tok.decode(gen[0, ids["input_ids"].shape[1]:]))
    return out


def test_merged_generates_like_base_plus_adapter(qlora_run, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    _, paths = qlora_run
    adapter = paths["stage2"]["adapter"]
    merged_dir = merge_adapter(str(tiny_model_dir), adapter, tmp_path / "merged", dtype="float32")
    tok = AutoTokenizer.from_pretrained(merged_dir)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    assert getattr(merged.config, "quantization_config", None) is None
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in merged.modules())  # a plain full-precision model
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(base, adapter).eval()
    prompts = ["Extract the disease entities. Text: patient 3 has asthma.", "问题：糖尿病的症状？"]
    assert _greedy(merged, tok, prompts) == _greedy(peft_model, tok, prompts)
    ids = torch.tensor([tok.encode("patient has asthma")])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, peft_model(ids).logits, rtol=1e-4, atol=1e-4)
        with peft_model.disable_adapter():
            assert not torch.allclose(peft_model(ids).logits, merged(ids).logits, atol=1e-4)  # the adapter mattered
    gen = GenerationConfig.from_pretrained(merged_dir)
    assert tok.convert_tokens_to_ids("<|im_end|>") in gen.eos_token_id


def test_merge_refuses_non_adapter(tmp_path, tiny_model_dir):
    with pytest.raises(DataError, match="not a PEFT adapter"):
        merge_adapter(str(tiny_model_dir), tmp_path, tmp_path / "out")
