"""``taiyi train`` / ``taiyi merge`` / ``python -m taiyi.train``: help text and one tiny end-to-end run."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from taiyi.cli import app

runner = CliRunner()


def test_help_has_examples():
    for cmd in ("train", "merge"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, res.output
        assert "Example: taiyi " + cmd in " ".join(res.output.split())
    res = runner.invoke(app, ["train", "--help"])
    assert "--resume" in res.output and "--set" in res.output and "--stage" in res.output and "--overwrite" in res.output


def test_train_then_merge_from_the_command_line(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(yaml.safe_dump(tiny_recipe(tiny_model_dir, instruction_files, tmp_path / "runs")))
    res = runner.invoke(app, ["train", "--config", str(cfg), "--stage", "stage1", "--no-progress",
                              "--set", "name=cli", "--set", "stages.stage1.max_steps=2"])
    assert res.exit_code == 0, res.output
    adapter = tmp_path / "runs" / "cli" / "stage1" / "adapter"
    assert f"stage1: {adapter}" in res.output
    assert '"step": 2' in (tmp_path / "runs" / "cli" / "stage1" / "train_log.jsonl").read_text().replace('"step":2', '"step": 2')
    res = runner.invoke(app, ["merge", "--adapter", str(adapter), "--out", str(tmp_path / "merged"), "--dtype", "float32"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "merged" / "model.safetensors").is_file() and (tmp_path / "merged" / "tokenizer.json").is_file()


def test_bad_recipe_key_is_a_clear_error(tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("name: x\nbase_model: y\nlearnig_rate: 1\n")
    res = runner.invoke(app, ["train", "--config", str(cfg)])
    assert res.exit_code == 2 and "unknown key(s) ['learnig_rate']" in res.output


def test_invalid_values_from_the_command_line_are_one_line_errors(tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("name: x\nbase_model: y\n")
    for setting, message in [("learning_rate=abc", "learning_rate: Input should be a valid number"),
                             ("stages.stage1.epochs=-1", "stages.stage1.epochs: Input should be greater than 0")]:
        res = runner.invoke(app, ["train", "--config", str(cfg), "--set", setting])
        assert res.exit_code == 2 and message in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
