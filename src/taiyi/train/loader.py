"""One model loader for training and inference: dtype, 4-bit/8-bit bitsandbytes, device placement, attention
implementation and the CPU 4-bit workaround.

Why: these details were written twice (trainer and transformers engine) and had begun to drift. ``train``,
``merge``, ``chat``, ``serve`` and ``eval`` all call ``load_causal_lm``/``load_tokenizer`` here (inference may
import training, never the reverse), so a fix to one path is a fix to all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from taiyi.files import DataError

DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
          "fp32": "float32", "float32": "float32"}
QUANTIZATIONS = (None, "4bit", "8bit")


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | None, device: str):
    """``auto``: bf16 on a GPU that has it (fp16 otherwise), fp32 on CPU; else the named dtype."""
    import torch

    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be auto, bf16, fp16 or fp32; got {dtype!r}")
    return getattr(torch, DTYPES[dtype])


def quantization_config(quantization: str, compute_dtype):
    """bitsandbytes config: 4-bit = nf4 + double quantisation with ``compute_dtype`` (QLoRA's); or 8-bit."""
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise DataError(f"{quantization} loading needs bitsandbytes (pip install 'taiyi[quant]'): {exc}") from None
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if quantization != "4bit":
        raise ValueError(f"quantization must be none, 4bit or 8bit; got {quantization!r}")
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def disable_cpu_4bit_repack(model) -> int:
    """bitsandbytes on AVX512-BF16 CPUs repacks 4-bit weights after an eval forward, which breaks the next
    training step of layers with a bias (stack-notes §4); switch that repacking off. Returns layers touched."""
    import bitsandbytes as bnb

    n = 0
    for m in model.modules():
        if isinstance(m, bnb.nn.Linear4bit):
            m.support_avx512bf16_for_cpu = False
            n += 1
    return n


def load_tokenizer(path: str | Path, *, padding_side: str = "right"):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load the tokenizer of {path}: {str(exc).splitlines()[0]}") from None
    tok.padding_side = padding_side
    return tok


def load_causal_lm(path: str | Path, *, dtype: str | None = "auto", quantization: str | None = None,
                   device: str | None = None, attn_implementation: str | None = None, training: bool = False):
    """A causal LM from a local directory or hub id.

    * ``dtype``: auto | bf16 | fp16 | fp32 (also the 4-bit compute dtype).
    * ``quantization``: None | 4bit | 8bit (bitsandbytes; weights placed on ``device`` by a device map — on
      CUDA under ``accelerate``/torchrun the process's LOCAL_RANK card).
    * ``training``: leave a full-precision model where it is (the Trainer places it); inference moves it to
      ``device`` now.
    """
    from transformers import AutoModelForCausalLM

    if quantization in ("none", ""):
        quantization = None
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be none, 4bit or 8bit; got {quantization!r}")
    device = device or default_device()
    if device == "cuda" and training:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    torch_dtype = resolve_dtype(dtype, device)
    kw: dict = {"dtype": torch_dtype}
    if attn_implementation:
        kw["attn_implementation"] = attn_implementation
    if quantization is not None:
        kw["quantization_config"] = quantization_config(quantization, torch_dtype)
        kw["device_map"] = {"": device}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), **kw)
    except OSError as exc:
        raise DataError(f"cannot load model {str(path)!r}: {str(exc).splitlines()[0]}") from None
    if quantization is None and not training:
        model.to(device)
    if quantization == "4bit" and device == "cpu":
        disable_cpu_4bit_repack(model)
    return model
