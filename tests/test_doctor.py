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
