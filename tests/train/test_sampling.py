"""Training reads the token cache through the weighted per-epoch mix: the configured examples each epoch, and a
run killed after a checkpoint resumes from the same cache (not re-encoded) with the same data order, to the same
weights."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from taiyi.files import read_json
from taiyi.train import token_cache
from taiyi.train.recipe import recipe_from_dict
from taiyi.train.trainer import run_training


class _Kill(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        if state.global_step == 6:  # two steps into epoch 2, just after checkpoint-6
            raise KeyboardInterrupt("killed after checkpoint-6")


@pytest.fixture()
def seen(monkeypatch):
    """Every example index the Trainer reads, in order."""
    log: list[int] = []
    orig = token_cache.CachedExamples.__getitem__

    def spy(self, i):
        log.append(int(i))
        return orig(self, i)

    monkeypatch.setattr(token_cache.CachedExamples, "__getitem__", spy)
    return log


def _data(path):
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(60):
            ds = "big" if i % 2 else ("small" if i % 4 == 0 else "chat")
            fh.write(json.dumps({"id": f"r{i}", "dataset": ds, "task": "ner", "messages": [
                {"role": "user", "content": f"Extract the diseases: patient {i} has asthma."},
                {"role": "assistant", "content": f"Disease: asthma {i}"}]}) + "\n")
    return path


def _recipe(tiny_recipe, model, data, out):
    raw = tiny_recipe(model, (data, data), out, global_batch_size=8, micro_batch_size=8, save_steps=2,
                      save_total_limit=1, token_cache=str(out.parent / "cache"))
    raw["stages"] = {"stage1": {"data": str(data), "epochs": 2,
                                "mix": {"by": "dataset", "caps": {"big": 10}, "weights": {"chat": 0.4}}}}
    return recipe_from_dict(raw)


def test_mix_order_survives_a_kill_and_the_cache_is_reused(tiny_recipe, tiny_model_dir, tmp_path, seen):
    data = _data(tmp_path / "stage1.jsonl")  # 30 big, 15 small, 15 chat
    full = _recipe(tiny_recipe, tiny_model_dir, data, tmp_path / "full")
    run_training(full, stages=("stage1",), progress=False)
    order = list(seen)
    rows = token_cache.TokenCache(next((tmp_path / "cache").iterdir())).column("dataset")
    per_epoch = 10 + 15 + 6
    assert len(order) == 2 * per_epoch  # 4 steps of 8 per epoch, the last one short
    for e in range(2):
        ep = order[e * per_epoch:(e + 1) * per_epoch]
        assert sorted(rows[ep].tolist()).count("big") == 10 and list(rows[ep]).count("chat") == 6
    big = [{i for i in order[e * per_epoch:(e + 1) * per_epoch] if rows[i] == "big"} for e in range(2)]
    assert big[0].isdisjoint(big[1])  # a different capped subset in epoch 2
    man = read_json(tmp_path / "full" / "t" / "stage1" / "manifest.json")
    assert man["token_cache_hit"] is False and man["mix"]["groups"]["big"]["new"] == [10, 10]

    seen.clear()
    killed = _recipe(tiny_recipe, tiny_model_dir, data, tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        run_training(killed, stages=("stage1",), progress=False, callbacks=[_Kill()])
    assert len(seen) >= per_epoch + 16 and seen == order[:len(seen)]  # (the loader reads a batch ahead)
    seen.clear()
    run_training(killed, stages=("stage1",), resume=True, progress=False)
    assert seen == order[per_epoch + 16:]  # the same order from the checkpoint on (nothing re-read, nothing skipped)
    man = read_json(tmp_path / "killed" / "t" / "stage1" / "manifest.json")
    assert man["token_cache_hit"] is True and len(list((tmp_path / "cache").iterdir())) == 1
    a = load_file(tmp_path / "full" / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "killed" / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stage_mix_from_the_recipe_or_the_builds_sidecar(tmp_path):
    from taiyi.files import DataError, write_json
    from taiyi.train.recipe import StageSpec
    from taiyi.train.trainer import stage_mix

    data = tmp_path / "stage2.jsonl"
    assert stage_mix(StageSpec(data=str(data))) is None
    write_json(tmp_path / "stage2.mix.json", {"by": "task", "caps": {"qa": 3}, "weights": {}, "epochs": 3})
    assert stage_mix(StageSpec(data=str(data))).caps == {"qa": 3}
    assert stage_mix(StageSpec(data=str(data), mix={"caps": {"a": 1}})).by == "dataset"  # the recipe wins
    write_json(tmp_path / "stage2.mix.json", {"by": "lang"})
    with pytest.raises(DataError, match="stage2.mix.json"):
        stage_mix(StageSpec(data=str(data)))
    with pytest.raises(DataError, match=r"stages.stage1.mix: unknown key\(s\) \['cap'\]"):
        recipe_from_dict({"base_model": "x", "stages": {"stage1": {"data": "d", "mix": {"cap": {}}}}})
