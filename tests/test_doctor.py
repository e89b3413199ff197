import json

from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.doctor import MachineReport, advise, inspect_machine


def test_doctor_reports_this_machine():
    rep = inspect_machine(check_4bit=True)
    assert rep.cpu_cores >= 1 and rep.torch
    if rep.bitsandbytes:  # bitsandbytes 0.50 runs nf4 on CPU
        assert rep.bnb_4bit
    assert rep.advice


def test_advice_follows_hardware():
    gpu = MachineReport(python="3.11", platform="x", cpu_cores=8, memory_gb=64, torch="2", cuda=True,
                        gpus=[{"name": "A", "total_gb": 24.0, "free_gb": 23.0, "capability": "8.9"}] * 8, bf16=True,
                        bitsandbytes="0.50", bnb_4bit=True)
    adv = " ".join(advise(gpu))
    assert "deepspeed_zero2" in adv and "QLoRA" in adv
    cpu = MachineReport(python="3.11", platform="x", cpu_cores=2, memory_gb=24, torch="2")
    assert any("No CUDA" in a for a in advise(cpu))


def test_doctor_cli_json():
    res = CliRunner().invoke(app, ["doctor", "--json", "--skip-4bit"])
    assert res.exit_code == 0, res.output
    assert "cuda" in json.loads(res.output)


def test_recipes_are_sized_against_the_gpus(tmp_path):
    from taiyi.doctor import recipe_fit

    def machine(gb):
        gpus = [{"name": "G", "total_gb": gb, "free_gb": gb, "capability": "9.0"}] if gb else []
        return MachineReport(python="3.11", platform="x", cpu_cores=8, memory_gb=64, torch="2", cuda=bool(gb), gpus=gpus)

    rows = {r["recipe"]: r for r in recipe_fit(machine(24.0))}
    assert {"taiyi-qwen2.5-7b.yaml", "taiyi-qwen3-8b.yaml", "taiyi-llama3.1-8b.yaml", "taiyi-glm4-9b.yaml"} <= set(rows)
    assert all(r["fits"] for r in rows.values())  # every 7-9B QLoRA recipe fits a 24 GB card at batch 4 x 1024
    small = {r["recipe"]: r["fits"] for r in recipe_fit(machine(16.0))}
    assert small["taiyi-llama3.1-8b.yaml"] is False and small["taiyi-glm4-9b.yaml"] is False
    assert not any(r["fits"] for r in recipe_fit(machine(0)))  # no GPU: nothing fits
    rep = machine(16.0)
    rep.recipes = recipe_fit(rep)
    assert any("No shipped 7-9B recipe fits" in a for a in advise(rep))
    (tmp_path / "bad.yaml").write_text("name: x\nbase_model: y\nepochs: 3\n")
    (row,) = recipe_fit(machine(24.0), tmp_path)
    assert "unknown key(s) ['epochs']" in row["error"]


def test_doctor_cli_lists_recipes():
    res = CliRunner().invoke(app, ["doctor", "--skip-4bit"])
    assert res.exit_code == 0, res.output
    assert "taiyi-glm4-9b.yaml" in res.output and "est. GB" in res.output
