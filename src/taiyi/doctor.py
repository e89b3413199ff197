"""``taiyi doctor``: what this machine can do, and which recipe settings follow from it.

Why: the same recipe runs on a laptop CPU, one 24 GB card or eight A100s; users need to know before a
long run whether bf16, 4-bit bitsandbytes, vLLM or flash-attention are available here, and what to set.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import typer


@dataclass
class MachineReport:
    python: str
    platform: str
    cpu_cores: int
    memory_gb: float | None
    torch: str | None = None
    cuda: bool = False
    gpus: list[dict] = field(default_factory=list)
    bf16: bool = False
    bitsandbytes: str | None = None
    bnb_4bit: bool = False
    bnb_4bit_checked: bool = False
    vllm: str | None = None
    flash_attn: str | None = None
    deepspeed: str | None = None
    chromium: str | None = None
    recipes: list[dict] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def _version(mod: str) -> str | None:
    if importlib.util.find_spec(mod) is None:
        return None
    try:
        from importlib.metadata import version

        return version(mod.replace("_", "-"))
    except Exception:
        return "installed"


def _memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"


def recipe_fit(rep: MachineReport, recipes_dir: str | Path | None = None) -> list[dict]:
    """Each recipe with an estimated QLoRA memory: does it fit one card of this machine?"""
    from taiyi.files import DataError
    from taiyi.train.recipe import load_recipe

    d = Path(recipes_dir) if recipes_dir else (Path("recipes") if Path("recipes").is_dir() else RECIPES_DIR)
    per_card = min((g["total_gb"] for g in rep.gpus), default=0.0)
    rows = []
    for p in sorted(d.glob("*.yaml")) if d.is_dir() else []:
        try:
            rec = load_recipe(p)
        except DataError as exc:
            rows.append({"recipe": p.name, "error": str(exc)})
            continue
        if rec.est_gpu_memory_gb is None:
            continue
        rows.append({"recipe": p.name, "base_model": rec.base_model, "est_gpu_memory_gb": rec.est_gpu_memory_gb,
                     "fits": bool(rep.cuda and rec.est_gpu_memory_gb <= per_card),
                     "per_card_gb": per_card})
    return rows


def inspect_machine(check_4bit: bool = True, recipes_dir: str | Path | None = None) -> MachineReport:
    """Probe the machine; cheap except the optional 4-bit smoke test (a 64x64 nf4 layer forward)."""
    rep = MachineReport(
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        cpu_cores=os.cpu_count() or 1,
        memory_gb=_memory_gb(),
    )
    try:
        import torch
    except ImportError:
        rep.advice.append("PyTorch is not installed: pip install torch==2.13.0")
        return rep
    rep.torch = torch.__version__
    rep.cuda = torch.cuda.is_available()
    if rep.cuda:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            rep.gpus.append({"name": p.name, "total_gb": round(total / 2**30, 1), "free_gb": round(free / 2**30, 1),
                             "capability": f"{p.major}.{p.minor}"})
        rep.bf16 = torch.cuda.is_bf16_supported()
    else:
        rep.bf16 = bool(getattr(torch.backends, "mkldnn", None)) and "avx512_bf16" in _cpu_flags()
    rep.bitsandbytes = _version("bitsandbytes")
    if rep.bitsandbytes and check_4bit:
        rep.bnb_4bit, rep.bnb_4bit_checked = _probe_4bit(rep.cuda), True
    rep.vllm = _version("vllm")
    rep.flash_attn = _version("flash_attn")
    rep.deepspeed = _version("deepspeed")
    rep.chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    rep.recipes = recipe_fit(rep, recipes_dir)
    rep.advice = advise(rep)
    return rep


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return fh.read()
    except OSError:
        return ""


def _probe_4bit(cuda: bool) -> bool:
    try:
        import contextlib
        import io

        import torch

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import bitsandbytes as bnb

            layer = bnb.nn.Linear4bit(64, 64, bias=False, quant_type="nf4", compute_dtype=torch.float32)
            device = "cuda" if cuda else "cpu"
            layer = layer.to(device)
            out = layer(torch.randn(2, 64, device=device))
        return bool(torch.isfinite(out).all())
    except Exception:
        return False


def advise(rep: MachineReport) -> list[str]:
    """Recipe settings that follow from what the machine has."""
    adv = []
    if not rep.cuda:
        adv.append("No CUDA GPU: train only tiny/small models here (recipes/demo-tiny.yaml); use fp32, no paged optimizer.")
        adv.append("For the 7B recipe use a GPU machine: one 24 GB card with QLoRA (quantization: 4bit).")
    else:
        total = sum(g["total_gb"] for g in rep.gpus)
        per = min(g["total_gb"] for g in rep.gpus)
        adv.append(f"{len(rep.gpus)} GPU(s), {total:.0f} GB in all; bf16 {'on' if rep.bf16 else 'off (use fp32; fp16 diverges on Qwen)'}.")
        if per < 20:
            adv.append("Under 20 GB per card: QLoRA 4-bit with gradient checkpointing, per-device batch 1, max_length 1024.")
        elif per < 48:
            adv.append("24-48 GB per card: the shipped QLoRA recipe as is (4-bit nf4, per-device batch 4, grad accumulation to 192).")
        else:
            adv.append("48 GB+ per card: LoRA in bf16 without quantization is possible and faster (set quantization: none).")
        if len(rep.gpus) > 1:
            adv.append("Several GPUs: accelerate launch --config_file recipes/accelerate/deepspeed_zero2.yaml ... (ZeRO-3 for full fine-tuning).")
        adv.append("Serving: vLLM " + ("is installed (taiyi serve --engine vllm)." if rep.vllm else "is not installed (pip install 'taiyi[vllm]') — transformers engine used."))
        if not rep.flash_attn:
            adv.append("flash-attn not installed: sdpa attention is used (padding-free packing works with both).")
    if rep.bitsandbytes and rep.bnb_4bit_checked and not rep.bnb_4bit:
        adv.append("bitsandbytes is installed but its 4-bit layer failed here: use quantization: none.")
    if not rep.bitsandbytes:
        adv.append("bitsandbytes missing: pip install 'taiyi[quant]' for QLoRA / 4-bit serving.")
    fit = [r["recipe"] for r in rep.recipes if r.get("fits")]
    sized = [r for r in rep.recipes if "est_gpu_memory_gb" in r]
    if sized:
        adv.append(f"Recipes that fit one card here: {', '.join(fit)}." if fit else
                   "No shipped 7-9B recipe fits a card here" + (" (no CUDA GPU)." if not rep.cuda else
                                                                "; lower micro_batch_size or max_length."))
    if not rep.chromium:
        adv.append("No chromium: the web page's browser test is skipped (apt-get install -y chromium).")
    return adv


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        skip_4bit: bool = typer.Option(False, "--skip-4bit", help="Skip the bitsandbytes 4-bit smoke test."),
        recipes: Optional[Path] = typer.Option(None, "--recipes", help="Recipe folder to size against the GPUs (default: recipes/)."),
    ) -> None:
        """Report what this machine can do (CUDA, bf16, bitsandbytes 4-bit, vLLM, flash-attn, memory) and the
        recipe settings that follow.

        Example: taiyi doctor --json
        """
        rep = inspect_machine(check_4bit=not skip_4bit, recipes_dir=recipes)
        if json_out:
            import json

            typer.echo(json.dumps(asdict(rep), ensure_ascii=False, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title="taiyi doctor", show_header=False)
        mem = f"{rep.memory_gb:.1f} GB" if rep.memory_gb else "?"
        rows = [
            ("python", rep.python), ("platform", rep.platform), ("CPU cores / RAM", f"{rep.cpu_cores} / {mem}"),
            ("torch", rep.torch or "missing"), ("CUDA", "yes" if rep.cuda else "no"),
            ("GPUs", "; ".join(f"{g['name']} {g['free_gb']}/{g['total_gb']} GB free" for g in rep.gpus) or "-"),
            ("bf16", "yes" if rep.bf16 else "no"),
            ("bitsandbytes 4-bit", f"{rep.bitsandbytes} ({'works' if rep.bnb_4bit else 'not working' if rep.bnb_4bit_checked else 'not checked'})" if rep.bitsandbytes else "missing"),
            ("vLLM", rep.vllm or "missing"), ("flash-attn", rep.flash_attn or "missing"),
            ("DeepSpeed", rep.deepspeed or "missing"), ("chromium", rep.chromium or "missing"),
        ]
        for k, v in rows:
            t.add_row(k, str(v))
        con = Console()
        con.print(t)
        if rep.recipes:
            rt = Table(title="recipes (estimated QLoRA peak per GPU)")
            for col in ("recipe", "base model", "est. GB", "fits one card here"):
                rt.add_column(col)
            for r in rep.recipes:
                if "error" in r:
                    rt.add_row(r["recipe"], "-", "-", r["error"])
                else:
                    rt.add_row(r["recipe"], r["base_model"], f"{r['est_gpu_memory_gb']:.1f}",
                               "yes" if r["fits"] else f"no ({r['per_card_gb']:.0f} GB per card)" if rep.cuda else "no (no GPU)")
            con.print(rt)
        con.print("[bold]What follows for the recipe:[/bold]")
        for a in rep.advice:
            con.print(f"  • {a}")
