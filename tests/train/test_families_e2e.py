"""`taiyi train` on Llama-3-style and GLM-4-style tiny models: train both stages, merge, serve (OpenAI API),
evaluate through the served endpoint — the chat family detected once and honoured at every step."""

from __future__ import annotations

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.files import read_json

runner = CliRunner()
EOT = {"llama3": "<|eot_id|>", "glm4": "<|user|>"}


@pytest.mark.parametrize("family", ["llama3", "glm4"])
def test_train_merge_serve_eval(family, instruction_files, shared_datasets, tmp_path):
    from transformers import AutoTokenizer, GenerationConfig

    from taiyi.infer.engine import GenerationParams, load_engine
    from taiyi.infer.server import ServerThread, create_app
    from taiyi.train.templates import detect_family

    raw = {
        "name": f"tiny-{family}", "output_dir": str(tmp_path / "runs"),
        "tiny_model": {"size": "tiny", "family": family, "vocab_size": 1000},
        "max_length": 128, "global_batch_size": 8, "micro_batch_size": 4, "learning_rate": 5e-3,
        "logging_steps": 1, "save_steps": 2, "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "merge_after": True,
        "stages": {"stage1": {"data": str(instruction_files[0]), "max_steps": 3},
                   "stage2": {"data": str(instruction_files[1]), "max_steps": 2}},
    }
    cfg = tmp_path / "recipe.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    res = runner.invoke(app, ["train", "--config", str(cfg), "--no-progress"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "runs" / f"tiny-{family}"
    merged = run / "merged"
    assert f"merged: {merged}" in res.output
    for stage in ("stage1", "stage2"):
        assert yaml.safe_load((run / stage / "config.yaml").read_text())["chat_family"] == family

    tok = AutoTokenizer.from_pretrained(merged)
    assert detect_family(tok).name == family  # the merged model keeps the family's template
    eos = GenerationConfig.from_pretrained(merged).eos_token_id
    assert eos[0] == tok.convert_tokens_to_ids(EOT[family])

    engine = load_engine(str(merged), batch_size=4)
    assert engine.family.name == family and engine.stop_ids[0] == eos[0]
    msgs = [{"role": "user", "content": "Extract the disease entities. Text: patient 1 has asthma."}]
    want = engine.generate_full([msgs], GenerationParams.greedy(max_new_tokens=8))[0]
    try:
        with ServerThread(create_app(engine)) as srv:
            r = httpx.post(f"{srv.url}/v1/chat/completions", timeout=60,
                           json={"model": "m", "messages": msgs, "max_tokens": 8, "temperature": 0})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["choices"][0]["message"]["content"] == want.text
            assert body["usage"]["completion_tokens"] == want.completion_tokens
            assert body["usage"]["prompt_tokens"] == engine.count_tokens(msgs)
            out = tmp_path / "eval"
            res = runner.invoke(app, ["eval", "--endpoint", f"{srv.url}/v1", "--benchmarks", "NCBI-disease",
                                      "--data-root", str(shared_datasets), "--eval-dir", str(tmp_path / "none"),
                                      "--limit", "2", "--max-new-tokens", "6", "--out", str(out), "--no-progress"])
    finally:
        engine.close()
    assert res.exit_code == 0, res.output
    scores = read_json(out / "scores.json")["benchmarks"]["NCBI-disease"]
    assert scores["n_items"] > 0 and scores["generated"] == scores["n_items"] and 0 <= scores["score"] <= 100
