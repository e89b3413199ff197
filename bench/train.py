"""Training throughput: our padding-free packed batches vs a plain padded Trainer (pad to longest).

Why: the instruction data is long-tailed (many short classification prompts, fewer long abstracts, max 1024
tokens), so padded batches spend much of their compute on pad tokens. Both runs train the same small Qwen2
(taiyi.train.tiny_model, "small" config) with LoRA on the same examples in the same order for one epoch with
the same micro batch; we count useful (non-pad) tokens per second of training time (fastest of --repeats alternated runs, since timings on a
shared machine are noisy). Ends with one JSON line.

Run: .venv/bin/python bench/train.py [--examples 128] [--batch 8] [--size small] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ("patient disease asthma diabetes tumour gene protein expression therapy dose trial risk cohort "
         "患者 疾病 治疗 基因 蛋白 表达 风险 药物 症状 检查").split()


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def synthetic_conversations(n: int, seed: int = 0) -> list[list[dict]]:
    """Long-tailed lengths like the paper's instruction mix: ~65% short classification prompts,
    ~25% medium NER/RE passages, ~10% long abstracts (summaries, QA with context), capped at 1024 tokens."""
    rng = random.Random(seed)
    convs = []
    for _ in range(n):
        u = rng.random()
        if u < 0.65:
            prompt, answer = _text(rng, rng.randint(15, 60)), _text(rng, rng.randint(1, 4))
        elif u < 0.90:
            prompt, answer = _text(rng, rng.randint(80, 220)), _text(rng, rng.randint(8, 40))
        else:
            prompt, answer = _text(rng, rng.randint(400, 900)), _text(rng, rng.randint(20, 80))
        convs.append([{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}])
    return convs


class _Clock:
    def __init__(self):
        from transformers import TrainerCallback

        outer = self

        class CB(TrainerCallback):
            def on_train_begin(self, *a, **k):
                outer.t0 = time.perf_counter()

            def on_train_end(self, *a, **k):
                outer.t1 = time.perf_counter()

        self.callback = CB()


def train_once(model_dir: Path, examples: list[dict], packing: bool, batch: int, seed: int, out: Path) -> float:
    """Seconds of training for one epoch over ``examples``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments, set_seed

    from taiyi.train.packing import make_collator, make_packing_safe

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    set_seed(seed)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    if packing:
        make_packing_safe(model)
        collator = make_collator(tok, packing=True)
    else:  # the plain baseline: what most fine-tuning scripts do
        collator = DataCollatorForSeq2Seq(tok, padding="longest", label_pad_token_id=-100, return_tensors="pt")
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=batch, num_train_epochs=1,
                             learning_rate=2e-4, save_strategy="no", report_to=[], use_cpu=not torch.cuda.is_available(),
                             seed=seed, logging_steps=1000, disable_tqdm=False, remove_unused_columns=False)
    clock = _Clock()
    trainer = Trainer(model=model, args=args, train_dataset=examples, data_collator=collator, callbacks=[clock.callback])
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the final JSON line
        trainer.train()
    return clock.t1 - clock.t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", default="small", help="tiny_model size: tiny | small | demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each, alternated; the fastest counts")
    a = ap.parse_args(argv)
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)

    from transformers import AutoTokenizer

    from taiyi.train.chat_format import ChatEncoder
    from taiyi.train.tiny_model import build_tiny_model

    convs = synthetic_conversations(a.examples, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        texts = [m["content"] for c in convs for m in c]
        model_dir = build_tiny_model(tmp / "model", texts, size=a.size)
        enc = ChatEncoder(AutoTokenizer.from_pretrained(model_dir), max_length=1024)
        examples = [e for e in (enc.encode(c)[0] for c in convs) if e is not None]
        lengths = sorted(len(e["input_ids"]) for e in examples)
        useful = sum(lengths)
        print(f"{len(examples)} examples, tokens: median {lengths[len(lengths) // 2]}, "
              f"p90 {lengths[int(len(lengths) * 0.9)]}, max {lengths[-1]}, total {useful}", file=sys.stderr)
        times = {"baseline": [], "ours": []}
        for r in range(a.repeats):  # alternate the two so a burst of load on a shared machine hits both
            times["baseline"].append(train_once(model_dir, examples, False, a.batch, a.seed, tmp / f"base{r}"))
            times["ours"].append(train_once(model_dir, examples, True, a.batch, a.seed, tmp / f"ours{r}"))
        t_base, t_ours = min(times["baseline"]), min(times["ours"])
    import torch

    ours, base = useful / t_ours, useful / t_base
    print(f"padded baseline: {times['baseline']} s, packed: {times['ours']} s", file=sys.stderr)
    print(json.dumps({"bench": "train", "ours": round(ours, 1), "baseline": round(base, 1), "unit": "tokens/s",
                      "ratio": round(ours / base, 2), "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()}, "examples": len(examples), "useful_tokens": useful,
                      "model": f"tiny_model:{a.size}", "batch": a.batch,
                      "device": "cuda" if torch.cuda.is_available() else f"cpu x{torch.get_num_threads()} threads"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
