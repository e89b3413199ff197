"""Estimated peak GPU memory of a (Q)LoRA training step, from a model's shape and the recipe's length and batch.

Why: a 7-9B QLoRA run should be known to fit a card before it is started; ``taiyi doctor`` compares each
shipped recipe's estimate with the GPUs it finds, and ``bench/gpu.py`` prints the estimate beside the measured
peak. The model is simple and stated here so it can be checked against a measurement:

* frozen base weights: every linear layer of the decoder in nf4 (0.5 byte/param + ~3 % for double-quantised
  scales); embeddings and lm_head in fp32 for QLoRA (PEFT's ``prepare_model_for_kbit_training`` upcasts every
  non-quantised parameter), bf16 otherwise; in bf16 LoRA everything is 2 bytes/param;
* LoRA: r x (in + out) params per adapted linear layer, fp32 weight + grad + two AdamW moments = 16 bytes/param;
* activations (bf16): with gradient checkpointing one hidden state per layer plus one layer's working set during
  recomputation; without it the working set of every layer;
* logits: the logits, their fp32 copy for the loss and its gradient — ``tokens x vocab x 10`` bytes with a bf16
  lm_head, ``x 12`` with QLoRA's fp32 one; at a 150k vocabulary this is the largest single term;
* 1.5 GB for the CUDA context, allocator fragmentation and cuBLAS workspaces.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

GB = 1024**3


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a decoder's config.json that memory depends on."""

    name: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    head_dim: int | None = None
    tied: bool = False

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer of one decoder layer: q, k, v, o, gate, up, down."""
        h, q, kv, i = self.hidden, self.heads * self.hd, self.kv_heads * self.hd, self.intermediate
        return [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]

    @property
    def linear_params(self) -> int:
        return self.layers * sum(a * b for a, b in self.linear_shapes())

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def params(self) -> int:
        return self.linear_params + self.embedding_params

    def lora_params(self, r: int) -> int:
        return self.layers * r * sum(a + b for a, b in self.linear_shapes())


# Shapes of the bases the shipped recipes name (from each model's config.json).
SHAPES = {
    "Qwen/Qwen2.5-7B": ModelShape("Qwen2.5-7B", 3584, 18944, 28, 28, 4, 152064),
    "Qwen/Qwen3-8B-Base": ModelShape("Qwen3-8B", 4096, 12288, 36, 32, 8, 151936, head_dim=128),
    "meta-llama/Llama-3.1-8B": ModelShape("Llama-3.1-8B", 4096, 14336, 32, 32, 8, 128256),
    "THUDM/glm-4-9b-hf": ModelShape("GLM-4-9B", 4096, 13696, 40, 32, 2, 151552, head_dim=128),
}


def shape_from_config(path: str | Path) -> ModelShape:
    """The shape of a local model directory (its config.json)."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    return ModelShape(
        name=Path(path).name, hidden=cfg["hidden_size"], intermediate=cfg["intermediate_size"],
        layers=cfg["num_hidden_layers"], heads=cfg["num_attention_heads"],
        kv_heads=cfg.get("num_key_value_heads") or cfg["num_attention_heads"], vocab=cfg["vocab_size"],
        head_dim=cfg.get("head_dim"), tied=bool(cfg.get("tie_word_embeddings", False)),
    )


def shape_for(base_model: str) -> ModelShape | None:
    """A known base by hub id, or a local directory's config.json; None when neither."""
    if base_model in SHAPES:
        return SHAPES[base_model]
    if (Path(base_model) / "config.json").is_file():
        return shape_from_config(base_model)
    return None


def estimate_training_memory(shape: ModelShape, *, max_length: int, micro_batch: int, lora_r: int,
                             quantization: str = "4bit", gradient_checkpointing: bool = True) -> dict:
    """Peak GPU memory (GB) of one (Q)LoRA step, by component (see the module docstring)."""
    tokens = max_length * micro_batch
    h, i = shape.hidden, shape.intermediate
    q_dim, kv_dim = shape.heads * shape.hd, shape.kv_heads * shape.hd
    quantized = quantization in ("4bit", "8bit")
    per_byte = 0.5 * 1.03 if quantization == "4bit" else 1.0 if quantization == "8bit" else 2.0
    weights = shape.linear_params * per_byte + shape.embedding_params * (4 if quantized else 2)
    lora = shape.lora_params(lora_r) * 16
    layer_work = tokens * (3 * h + q_dim + 2 * kv_dim + 3 * i) * 2 * 2  # activations + their grads, bf16
    acts = shape.layers * tokens * h * 2 + layer_work if gradient_checkpointing else shape.layers * layer_work
    logits = tokens * shape.vocab * (12 if quantized else 10)
    parts = {"weights": weights, "lora_and_optimizer": lora, "activations": acts, "logits": logits,
             "overhead": 1.5 * GB}
    out = {k: round(v / GB, 2) for k, v in parts.items()}
    out["total"] = round(sum(parts.values()) / GB, 1)
    return out


def estimate_recipe(rec) -> dict | None:
    """The estimate for a recipe (None when its base model's shape is unknown here)."""
    shape = shape_for(rec.base_model) if rec.base_model else None
    if shape is None:
        return None
    est = estimate_training_memory(shape, max_length=rec.max_length, micro_batch=rec.micro_batch_size,
                                   lora_r=rec.lora.r, quantization=rec.quantization,
                                   gradient_checkpointing=rec.gradient_checkpointing)
    return est | {"model": asdict(shape)}
