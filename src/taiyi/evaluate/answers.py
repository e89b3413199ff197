"""Answering: greedy generation in batches of similar length, or multiple choice by log-likelihood.

Why: both ways write each finished batch to the prediction cache at once, and a batch that fails (e.g. one
prompt longer than the model's context) is retried item by item, so one bad item never ends a long run.
"""

from __future__ import annotations

import logging
from typing import Sequence

from taiyi.evaluate.cache import PredictionCache
from taiyi.evaluate.items import prompt_key, prompt_of, source_text
from taiyi.files import DataError
from taiyi.instructions.benchmarks import Benchmark
from taiyi.instructions.tasks.base import Instruction
from taiyi.instructions.tasks.registry import get_task

log = logging.getLogger(__name__)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item", disable=not enabled, leave=False)


def _generate_batch(engine, batch: Sequence[Instruction], params) -> tuple[list[str | None], list[str | None]]:
    """Answers of one batch; when the batch fails (e.g. one prompt exceeds the model's context), item by item,
    and an item that still fails gets no answer (scored as a failure, the reason kept) instead of ending the run."""
    from taiyi.infer.engine import TransientError

    try:
        return list(engine.generate([prompt_of(it) for it in batch], params)), [None] * len(batch)
    except (ValueError, TransientError) as exc:
        if len(batch) == 1:
            log.warning("item %s: generation failed: %s", batch[0].id, exc)
            return [None], [f"{RETRY if isinstance(exc, TransientError) else ''}generation failed: {exc}"]
    texts, errors = [], []
    for it in batch:
        t, e = _generate_batch(engine, [it], params)
        texts += t
        errors += e
    return texts, errors


RETRY = "transient: "  # an error row with this prefix is answered again on a re-run (the server may be back)


def _needs_answer(row: dict | None) -> bool:
    return row is None or (row.get("answer") is None and str(row.get("error", "")).startswith(RETRY))


def generate_answers(engine, bench: Benchmark, items: Sequence[Instruction], cache: PredictionCache, *,
                     batch_size: int = 16, max_new_tokens: int | None = None, progress: bool = True) -> int:
    """Greedy answers for the items not yet cached, in batches of similar prompt length; returns how many ran."""
    from taiyi.infer.engine import GenerationParams

    todo = [it for it in items if _needs_answer(cache.get(bench.name, it))]
    todo.sort(key=lambda it: len(source_text(it)))
    params = GenerationParams.greedy(max_new_tokens=max_new_tokens or bench.task_def.max_new_tokens)
    with _progress(len(todo), bench.name, progress) as bar:
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            texts, errors = _generate_batch(engine, batch, params)
            cache.add({"benchmark": bench.name, "id": it.id, "prompt_sha": prompt_key(it), "mode": "generate",
                       "answer": text, **({"error": err} if err else {})}
                      for it, text, err in zip(batch, texts, errors))
            bar.update(len(batch))
    return len(todo)


def loglikelihood_answers(engine, bench: Benchmark, items: Sequence[Instruction], cache: PredictionCache, *,
                          batch_size: int = 16, progress: bool = True) -> int:
    """Multiple choice as lm-evaluation-harness scores it: the choice whose rendered answer is most likely wins."""
    todo = [it for it in items if cache.get(bench.name, it) is None]
    with _progress(len(todo), f"{bench.name} (loglikelihood)", progress) as bar:
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            pairs, owners = [], []
            for it in batch:
                choices = list(it.meta.get("choices") or [])
                if not choices:
                    raise DataError(f"item {it.id}: meta has no 'choices' for log-likelihood scoring")
                task = get_task(it.task)
                for c in choices:
                    pairs.append((prompt_of(it), task.render(c, it.meta, 0)))
                    owners.append((it, c))
            scores = engine.loglikelihood(pairs)
            best: dict[str, tuple[float, str, list]] = {}
            for (it, c), s in zip(owners, scores):
                b = best.setdefault(it.id, (float("-inf"), "", []))
                b[2].append(s)
                if s > b[0]:
                    best[it.id] = (s, c, b[2])
            cache.add({"benchmark": bench.name, "id": it.id, "prompt_sha": prompt_key(it), "mode": "loglikelihood",
                       "answer": get_task(it.task).render(best[it.id][1], it.meta, 0),
                       "choice_logprobs": best[it.id][2]} for it in batch)
            bar.update(len(batch))
    return len(todo)
