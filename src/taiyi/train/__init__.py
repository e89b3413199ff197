"""Training: chat encoding, packing, two-stage QLoRA SFT, merge (reads instructions/*.jsonl)."""
