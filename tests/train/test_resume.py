"""Kills: ``taiyi train`` SIGKILLed while a checkpoint is being written resumes from the last *complete* one,
leftover temp folders are cleaned, and an existing run is never deleted without ``--overwrite``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.train.recipe import recipe_from_dict
from taiyi.train.checkpoints import COMPLETE_MARKER
from taiyi.train.trainer import run_training

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Runs `taiyi train` but, when checkpoint-4's optimizer state is being written, writes half a file and SIGKILLs
# itself — exactly what a kill -9 / OOM killer / preemption does at that moment.
KILLER = """
import os, signal, sys
import transformers.trainer as T
orig = T.Trainer._save_optimizer_and_scheduler
def killer(self, output_dir):
    if self.state.global_step == int(os.environ["KILL_AT"]):
        with open(os.path.join(output_dir, "optimizer.pt"), "wb") as fh:
            fh.write(b"\\x80\\x02partial")
            fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return orig(self, output_dir)
T.Trainer._save_optimizer_and_scheduler = killer
from taiyi.cli import app
app(sys.argv[1:], prog_name="taiyi")
"""


def _recipe(tiny_recipe, tiny_model_dir, instruction_files, out):
    kw = {"stages": {"stage1": {"data": str(instruction_files[0]), "epochs": 1}}, "global_batch_size": 8,
          "micro_batch_size": 8, "save_steps": 2, "save_total_limit": 1,
          "lora": {"r": 8, "alpha": 16, "dropout": 0.1}}  # 6 steps; dropout uses the RNG state
    return tiny_recipe(tiny_model_dir, instruction_files, out, **kw)


def test_sigkill_while_writing_a_checkpoint_then_resume(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    full = recipe_from_dict(_recipe(tiny_recipe, tiny_model_dir, instruction_files, tmp_path / "full"))
    run_training(full, stages=("stage1",), progress=False)

    cfg = tmp_path / "r.yaml"
    cfg.write_text(yaml.safe_dump(_recipe(tiny_recipe, tiny_model_dir, instruction_files, tmp_path / "killed")))
    driver = tmp_path / "killer.py"
    driver.write_text(KILLER)
    env = dict(os.environ, KILL_AT="4", PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen([sys.executable, str(driver), "train", "--config", str(cfg), "--stage", "stage1",
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    stage = tmp_path / "killed" / "t" / "stage1"
    ckpts = {p.name: (p / COMPLETE_MARKER).is_file() for p in (stage / "checkpoints").iterdir()}
    assert ckpts == {"checkpoint-2": True, "checkpoint-4": False}  # 4 is the torn one; 2 survived rotation
    assert not (stage / "adapter").exists()
    from taiyi.files import TMP_TAG, _host

    leftover = stage / f".adapter.{TMP_TAG}-{proc.pid}-{_host()}-x1y2"  # cut by the kill: its pid is dead
    leftover.mkdir()
    (leftover / "junk.bin").write_bytes(b"0" * 1000)

    res = runner.invoke(app, ["train", "--config", str(cfg), "--stage", "stage1", "--no-progress"])
    assert res.exit_code == 2 and "already holds a run (checkpoints)" in res.output and "--overwrite" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert (stage / "checkpoints" / "checkpoint-2" / COMPLETE_MARKER).is_file()  # nothing deleted

    res = runner.invoke(app, ["train", "--config", str(cfg), "--stage", "stage1", "--no-progress", "--resume"])
    assert res.exit_code == 0, res.output
    assert "removed unfinished checkpoint(s) of a killed run: checkpoint-4" in res.output
    assert "resuming from" in res.output and "checkpoint-2" in res.output
    assert not leftover.exists()
    a = load_file(tmp_path / "full" / "t" / "stage1" / "adapter" / "adapter_model.safetensors")
    b = load_file(stage / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)

    before = (stage / "adapter" / "adapter_model.safetensors").read_bytes()
    res = runner.invoke(app, ["train", "--config", str(cfg), "--stage", "stage1", "--no-progress"])
    assert res.exit_code == 2 and "already holds a run (adapter)" in res.output
    assert (stage / "adapter" / "adapter_model.safetensors").read_bytes() == before
    res = runner.invoke(app, ["train", "--config", str(cfg), "--stage", "stage1", "--no-progress", "--overwrite",
                              "--set", "stages.stage1.max_steps=2"])
    assert res.exit_code == 0, res.output
    assert (stage / "adapter" / "adapter_model.safetensors").read_bytes() != before  # replaced only when asked


def test_rotation_keeps_the_newest_complete_checkpoints(tiny_recipe, tiny_model_dir, instruction_files, tmp_path):
    from transformers import TrainerCallback

    seen = []

    class Peek(TrainerCallback):
        def on_save(self, args, state, control, **kw):
            seen.append(sorted(p.name for p in Path(args.output_dir).iterdir() if (p / COMPLETE_MARKER).is_file()))

    raw = _recipe(tiny_recipe, tiny_model_dir, instruction_files, tmp_path)
    raw["save_total_limit"] = 2
    run_training(recipe_from_dict(raw), stages=("stage1",), callbacks=[Peek()], progress=False)
    # on_save runs after our marker and rotation: only complete checkpoints, the newest two
    assert seen == [["checkpoint-2"], ["checkpoint-2", "checkpoint-4"], ["checkpoint-4", "checkpoint-6"]]
    assert not (tmp_path / "t" / "stage1" / "checkpoints").exists()  # removed once the adapter is written
