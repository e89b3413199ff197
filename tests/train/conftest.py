"""Fixtures for training tests: small instruction files in the stage-1/stage-2 contract."""

from __future__ import annotations

import json
import random

import pytest


def _record(i: int, stage: str, rng: random.Random, dialogue: bool) -> dict:
    if dialogue:
        messages = [
            {"role": "user", "content": f"患者{i}：头痛怎么办？"},
            {"role": "assistant", "content": "多休息，多喝水。"},
            {"role": "user", "content": "还有呢？"},
            {"role": "assistant", "content": f"持续{i % 3 + 1}天以上请就医。"},
        ]
        task = "dialogue"
    else:
        d = rng.choice(["asthma", "diabetes", "fever", "cancer", "哮喘", "糖尿病"])
        messages = [
            {"role": "user", "content": f"Extract the disease entities. Text: patient {i} has {d}."},
            {"role": "assistant", "content": f"Disease: {d}"},
        ]
        task = "ner"
    return {"id": f"{stage}-{i}", "dataset": "toy", "task": task, "lang": "en", "stage": stage,
            "template_id": "t0", "messages": messages}


@pytest.fixture(scope="session")
def instruction_files(tmp_path_factory):
    """instructions/stage1.jsonl (single-turn) and stage2.jsonl (adds dialogues), 48 records each."""
    d = tmp_path_factory.mktemp("instructions")
    rng = random.Random(0)
    for stage in ("stage1", "stage2"):
        with open(d / f"{stage}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(48):
                rec = _record(i, stage, rng, dialogue=stage == "stage2" and i % 3 == 0)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return d / "stage1.jsonl", d / "stage2.jsonl"


@pytest.fixture(scope="session")
def tiny_recipe():
    """Factory of recipe dicts that train the tiny model a few steps (LoRA r=8, batch 8)."""
    return tiny_recipe_dict


def tiny_recipe_dict(base, files, out, **kw) -> dict:
    raw = {
        "name": "t", "output_dir": str(out), "base_model": str(base), "max_length": 128,
        "global_batch_size": 8, "micro_batch_size": 4, "learning_rate": 5e-3, "logging_steps": 1,
        "save_steps": 2, "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
        "stages": {"stage1": {"data": str(files[0]), "epochs": 1, "max_steps": 4},
                   "stage2": {"data": str(files[1]), "epochs": 1, "max_steps": 3}},
    }
    raw.update(kw)
    return raw
