"""Merge a LoRA adapter into its full-precision base: ``taiyi merge``.

Why: serving (transformers, vLLM) wants one plain model directory. Merging into a 4-bit base bakes the
quantisation error into the weights (design §7), so the base is always loaded in bf16 or fp32 here — also
after QLoRA training — and a base that is itself stored quantised is refused. The output carries the
tokenizer, chat template and the generation config with the stop ids saved beside the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path

from taiyi.files import DataError, atomic_dir

DTYPES = ("bfloat16", "float32")


def adapter_base(adapter: str | Path) -> str:
    """The base model recorded in an adapter's adapter_config.json."""
    cfg = Path(adapter) / "adapter_config.json"
    if not cfg.is_file():
        raise DataError(f"{adapter}: not a PEFT adapter directory (no adapter_config.json)")
    base = json.loads(cfg.read_text()).get("base_model_name_or_path")
    if not base:
        raise DataError(f"{cfg}: no base_model_name_or_path; pass --base")
    return base


def merge_adapter(base: str | Path | None, adapter: str | Path, out: str | Path, dtype: str = "bfloat16") -> Path:
    """Load ``base`` in ``dtype`` (never 4-bit), apply ``adapter``, merge_and_unload, save to ``out`` atomically."""
    from peft import PeftModel
    from transformers import AutoConfig, GenerationConfig

    from taiyi.train.loader import load_causal_lm, load_tokenizer

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    adapter = Path(adapter)
    if not (adapter / "adapter_config.json").is_file():
        raise DataError(f"{adapter}: not a PEFT adapter directory (no adapter_config.json)")
    base = str(base) if base else adapter_base(adapter)
    cfg = AutoConfig.from_pretrained(base)
    if getattr(cfg, "quantization_config", None):
        raise DataError(f"{base}: this base is stored quantised; merge into the bf16/fp32 base model instead")
    model = load_causal_lm(base, dtype=dtype, device="cpu")
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.config.use_cache = True
    tok_src = adapter if (adapter / "tokenizer_config.json").is_file() else Path(base)
    tok = load_tokenizer(tok_src)
    if (adapter / "generation_config.json").is_file():
        model.generation_config = GenerationConfig.from_pretrained(str(adapter))
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        model.generation_config.save_pretrained(tmp)
    return Path(out)
