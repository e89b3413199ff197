"""``taiyi build``: corpus -> two-stage training instructions, evaluation files, stats and manifest.

Why: this is the one place that runs the whole instruction pipeline in order:
  1. evaluation items of every benchmark present (``eval/<name>.jsonl``) and the contamination index built
     from all their records;
  2. per dataset (in parallel with ``num_proc``): stream the training splits, drop contaminated records,
     draw prompts through the task codecs, drop low-quality instructions, apply the dataset cap;
  3. in dataset order: exact / near-duplicate removal, then each instruction goes to the stage files whose
     task group contains it (stage 2 repeats stage 1, as in the paper); general chat files are mixed in;
  4. ``stats.md`` and ``manifest.json``.
Everything is written into a temporary directory that replaces ``out_dir`` only when complete, and memory
stays flat in the corpus size (records stream through; only the dedup and contamination indexes persist).
Corpus records are checked with ``convert``'s own validators (``corpus.schema.validate_record``) as they are
read, and a build that would make no training instructions fails (unless ``allow_empty``) instead of
replacing good instructions with empty ones.
"""

from __future__ import annotations

import base64
import multiprocessing as mp
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from tqdm import tqdm

from taiyi.corpus.schema import validate_record
from taiyi.files import (DataError, atomic_dir, dumps, manifest, read_jsonl, read_jsonl_numbered, sha256_file,
                         shard_name, write_json)
from taiyi.instructions import benchmarks as bm
from taiyi.instructions.config import BuildConfig, load_config
from taiyi.instructions.decontaminate import ContaminationIndex, record_text
from taiyi.instructions.dedup import Deduplicator, minhash
from taiyi.instructions.epoch_mix import EpochMix, EpochPlan
from taiyi.instructions.mix import DatasetPlan, plan_datasets, read_general_chat
from taiyi.instructions.quality import TokenCounter, check
from taiyi.instructions.stats import BuildStats
from taiyi.instructions.tasks.registry import get_task, with_facts
from taiyi.instructions.windows import record_examples

_WORKER: dict[str, Any] = {}


def corpus_records(path: Path):
    """(line, record) of one corpus split file, each record checked as ``convert`` checks it.

    Why: a corpus edited by hand or written by an older version must not turn into wrong targets (a ``text``
    record without ``labels`` would otherwise be taught as "none of these categories").
    """
    for line_no, rec in read_jsonl_numbered(path):
        errs = validate_record(rec)
        if errs:
            more = f" (and {len(errs) - 1} more problem(s))" if len(errs) > 1 else ""
            raise DataError(f"{path}:{line_no}: {errs[0]}{more}; fix the record or re-run `taiyi convert`")
        yield line_no, rec


def _init_worker(cfg: BuildConfig, index: ContaminationIndex) -> None:
    _WORKER["cfg"], _WORKER["index"] = cfg, index
    _WORKER["counter"] = TokenCounter(cfg.tokenizer)


def _clean_records(plan: DatasetPlan, index: ContaminationIndex):
    """The dataset's training records that survive decontamination (what a task's dataset facts are drawn from)."""
    for path in plan.files():
        for _, rec in corpus_records(path):
            if not index.check(rec):
                yield rec


def _dataset_shard(plan: DatasetPlan, shard: str) -> dict:
    """Stream one dataset into a shard file of candidate instructions (+ dedup signature); return counts."""
    cfg: BuildConfig = _WORKER["cfg"]
    index: ContaminationIndex = _WORKER["index"]
    counter: TokenCounter = _WORKER["counter"]
    counts: dict[str, Any] = {"dropped": {}, "dropped_by_dataset": [], "records_read": {}, "errors": []}
    dropped: dict[str, int] = {}
    near, num_perm, n_sh = cfg.dedup.get("near", True), int(cfg.dedup["num_perm"]), int(cfg.dedup["shingle"])
    written, read = 0, 0
    window = cfg.max_tokens // 2 if cfg.window_tokens is None else cfg.window_tokens
    judge = lambda inst: check(inst, counter, cfg.max_tokens)  # noqa: E731
    codecs = {t: get_task(t) for t in plan.tasks}
    infos = {t: with_facts(codecs[t], plan.info, lambda: _clean_records(plan, index)) for t in plan.tasks}
    with open(shard, "wb") as fh:
        for split, path in zip(plan.splits, plan.files()):
            for line_no, rec in corpus_records(path):
                if plan.cap is not None and written >= plan.cap:
                    break
                read += 1
                reason = index.check(rec)
                if reason:
                    dropped[reason] = dropped.get(reason, 0) + 1
                    continue
                rid = rec.get("id")
                if rid is None:
                    raise DataError(f"{path}:{line_no}: corpus record has no 'id'")
                made, errors = record_examples(rec, codecs, infos, seed=f"{cfg.seed}:{plan.name}:{split}",
                                               draws=plan.draws, window=window, judge=judge)
                for task, exc in errors:  # a record the codec cannot handle: counted, never fatal
                    dropped["codec_error"] = dropped.get("codec_error", 0) + 1
                    if len(counts["errors"]) < 5:
                        counts["errors"].append(f"{path}:{line_no}: record {rid}: {task}: {exc!r}")
                k, sources = 0, {}  # a piece's text, once per piece (windows are shared by the record's tasks)
                for task, piece, judged in made:
                    for inst, why in judged:
                        if plan.cap is not None and written >= plan.cap:
                            break
                        if why:
                            dropped[why] = dropped.get(why, 0) + 1
                            continue
                        k += 1
                        inst.id = f"{plan.name}/{split}/{rid}/{task}/{k}"
                        row = {"r": inst.to_record(), "g": f"{plan.name}/{rid}"}
                        if near:
                            if piece["id"] not in sources:
                                sources[piece["id"]] = record_text(piece)
                            answer = inst.messages[-1]["content"]
                            sig = minhash(f"{sources[piece['id']]}\n{answer}", num_perm, n_sh)
                            row["m"] = base64.b64encode(sig.astype("<u8").tobytes()).decode()
                        fh.write(dumps(row))
                        fh.write(b"\n")
                        written += 1
    counts["dropped"] = dropped
    counts["dropped_by_dataset"] = [[[plan.name, r], n] for r, n in dropped.items()]
    counts["records_read"] = {plan.name: read}
    counts["written"] = written
    return counts


def _run_shard(args: tuple[DatasetPlan, str]) -> tuple[str, dict]:
    plan, shard = args
    return plan.name, _dataset_shard(plan, shard)


class _StageWriter:
    """Streams each stage's records to ``stage<N>.jsonl``, or with ``shard_records`` to shards of that many
    records named ``stage<N>-00000-of-000NN.jsonl`` (renamed once the count is known; ``files.expand_shards``
    reads either as ``stage<N>.jsonl``). Counts per dataset and task feed the per-epoch mix report."""

    def __init__(self, out: Path, stages: list[int], shard_records: int | None = None):
        self.out, self.shard = out, shard_records
        self.counts = {s: 0 for s in stages}
        self.groups: dict[tuple[int, str, str], int] = {}
        self.parts: dict[int, list[Path]] = {s: [] for s in stages}
        self.fhs = {s: self._open(s) for s in stages}

    def _open(self, stage: int):
        name = f"stage{stage}.jsonl" if not self.shard else f".stage{stage}-{len(self.parts[stage]):05d}.part"
        self.parts[stage].append(self.out / name)
        return open(self.parts[stage][-1], "wb")

    def write(self, stage: int, rec: dict) -> None:
        if self.shard and self.counts[stage] and self.counts[stage] % self.shard == 0:
            self.fhs[stage].close()
            self.fhs[stage] = self._open(stage)
        self.fhs[stage].write(dumps({**rec, "stage": str(stage)}))
        self.fhs[stage].write(b"\n")
        self.counts[stage] += 1
        for by in ("dataset", "task"):
            key = (stage, by, str(rec.get(by, "")))
            self.groups[key] = self.groups.get(key, 0) + 1

    def close(self) -> None:
        for fh in self.fhs.values():
            fh.close()
        if self.shard:
            for s, parts in self.parts.items():
                for i, p in enumerate(parts):
                    if p.exists():
                        os.replace(p, shard_name(self.out / f"stage{s}.jsonl", i, len(parts)))

    def sizes(self, stage: int, by: str) -> dict[str, int]:
        return {g: n for (s, b, g), n in sorted(self.groups.items()) if s == stage and b == by}


def build(config: str | Path | BuildConfig | None, corpus_dir: str | Path, out_dir: str | Path, *,
          num_proc: int = 1, seed: int | None = None, tokenizer: str | None = None, progress: bool = True,
          allow_empty: bool = False, shard_records: int | None = None) -> dict:
    """Build ``out_dir`` from ``corpus_dir``; returns the manifest (also written as ``manifest.json``).

    Raises DataError, leaving ``out_dir`` as it was, when no training instruction would be written (an empty
    corpus folder, every dataset skipped) unless ``allow_empty``.
    """
    cfg = config if isinstance(config, BuildConfig) else load_config(config, seed=seed, tokenizer=tokenizer,
                                                                     shard_records=shard_records)
    if isinstance(config, BuildConfig):
        if seed is not None:
            cfg.seed = seed
        if tokenizer is not None:
            cfg.tokenizer = tokenizer
        if shard_records is not None:
            cfg.shard_records = shard_records
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    benchmarks = bm.load_benchmarks(cfg.benchmarks)
    plans, skipped = plan_datasets(corpus_dir, cfg, benchmarks)
    if not plans and not cfg.general_chat and not allow_empty:
        raise DataError(_empty_message(corpus_dir, out_dir, skipped))
    stats = BuildStats(skipped=skipped)
    stages = sorted(cfg.stages)
    inputs: list[Path] = []
    TokenCounter(cfg.tokenizer)  # fail early on an unloadable tokenizer

    with atomic_dir(out_dir) as tmp:
        # 1. evaluation files + contamination index
        index = ContaminationIndex(ngram_en=int(cfg.decontaminate["ngram_en"]), ngram_zh=int(cfg.decontaminate["ngram_zh"]))
        indexed: set[Path] = set()
        present = [(b, b.find_dataset(corpus_dir)) for b in benchmarks.values()]
        present = [(b, d) for b, d in present if d is not None]
        for b, d in tqdm(present, desc="eval sets", unit="benchmark", disable=not progress):
            path = d / f"{b.split}.jsonl"
            inputs += [path, d / "meta.json"]
            info = orjson.loads((d / "meta.json").read_bytes()) if (d / "meta.json").is_file() else {"name": d.name}
            if b.task not in info.get("tasks", [b.task]):
                stats.skipped[f"eval:{b.name}"] = f"{d.name}/meta.json does not list task {b.task!r}"
                continue
            try:
                items = bm.eval_items(b, read_jsonl(path), info, seed=cfg.seed, limit=cfg.eval_limit)
            except DataError as exc:  # a codec bug must not hide the other benchmarks; reported in stats
                if "codec failed" not in str(exc):
                    raise
                stats.skipped[f"eval:{b.name}"] = str(exc)
                tqdm.write(f"warning: no eval file for {b.name}: {exc}")
                items = None
            if items is not None:
                stats.eval_items[b.name] = bm.write_eval_file(tmp / "eval" / f"{b.name}.jsonl", items)
            if path not in indexed:
                indexed.add(path)
                index.add_all(read_jsonl(path))
        index.freeze()

        # 2. per-dataset shards (parallel), 3. dedup + stage files (in dataset order)
        dedup = Deduplicator(exact=bool(cfg.dedup["exact"]), near=bool(cfg.dedup["near"]),
                             threshold=float(cfg.dedup["threshold"]), num_perm=int(cfg.dedup["num_perm"]),
                             shingle=int(cfg.dedup["shingle"]))
        writer = _StageWriter(tmp, stages, cfg.shard_records)
        shard_dir = Path(tempfile.mkdtemp(prefix=".shards.", dir=tmp))
        jobs = [(p, str(shard_dir / f"{i:04d}.jsonl")) for i, p in enumerate(plans)]
        for p in plans:
            inputs += [*p.files(), Path(p.dir) / "meta.json"]
        bar = tqdm(total=len(jobs), desc="datasets", unit="dataset", disable=not progress)
        try:
            if num_proc > 1 and len(jobs) > 1:
                ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
                with ctx.Pool(min(num_proc, len(jobs)), initializer=_init_worker, initargs=(cfg, index)) as pool:
                    for name, counts in pool.imap(_run_shard, jobs):
                        _merge_shard(name, counts, jobs, cfg, dedup, writer, stats)
                        bar.update(1)
                        bar.set_postfix(instructions=sum(writer.counts.values()))
            else:
                _init_worker(cfg, index)
                for job in jobs:
                    name, counts = _run_shard(job)
                    _merge_shard(name, counts, jobs, cfg, dedup, writer, stats)
                    bar.update(1)
                    bar.set_postfix(instructions=sum(writer.counts.values()))
            # general-domain chat
            chat_counter = TokenCounter(cfg.tokenizer)
            for src in cfg.general_chat:
                inputs.append(Path(src.path))
                for inst in tqdm(read_general_chat(src), desc=f"chat {Path(src.path).name}", unit="conv", disable=not progress):
                    why = check(inst, chat_counter, cfg.max_tokens)
                    if why is None:
                        user = "\n".join(m["content"] for m in inst.messages if m["role"] == "user")
                        why = index.check_text(user)
                    if why is None:
                        why = dedup.check(inst.messages, group=inst.id, scope="general")
                    if why:
                        stats.drop(inst.dataset, why)
                        continue
                    rec = inst.to_record()
                    stats.per_dataset[(inst.dataset, "dialogue")] += 1
                    for s in stages:
                        if s >= src.stage:
                            writer.write(s, rec)
                            stats.keep(s, "dialogue", inst.lang, general=True)
        finally:
            bar.close()
            writer.close()
            for f in shard_dir.glob("*"):
                f.unlink()
            shard_dir.rmdir()

        if not allow_empty and sum(writer.counts.values()) == 0:
            raise DataError(_empty_message(corpus_dir, out_dir, stats.skipped, stats.dropped))

        # 4. per-epoch mix (sidecar the trainer reads) + report + manifest
        for s, spec in sorted(cfg.epoch_mix.items()):
            if s in stages:
                stats.epoch_mix[s] = mix_report(spec, writer.sizes(s, spec.by), cfg.seed)
                write_json(tmp / f"stage{s}.mix.json", spec.model_dump())
        (tmp / "stats.md").write_text(stats.markdown(stages), encoding="utf-8")
        outputs = {str(p.relative_to(tmp)): {"sha256": sha256_file(p), "records": _count_lines(p)}
                   for p in sorted(tmp.rglob("*.jsonl"))}
        man = manifest("build", sorted(set(inputs)), config=cfg.to_dict(), corpus=str(corpus_dir),
                       tokenizer=cfg.tokenizer or "estimate", outputs=outputs, stats=stats.to_dict())
        write_json(tmp / "manifest.json", man)
    return man



def mix_report(spec: EpochMix, sizes: dict[str, int], seed: int) -> dict:
    """The effective per-epoch mix of groups of these sizes (which examples is decided at training time)."""
    names = list(sizes)
    codes = np.repeat(np.arange(len(names), dtype=np.int32), [sizes[n] for n in names])
    return EpochPlan(spec, codes, names, seed).report(spec.epochs)


def _empty_message(corpus_dir: Path, out_dir: Path, skipped: dict, dropped: dict | None = None) -> str:
    why = f"datasets skipped: {dict(list(skipped.items())[:5])}" if skipped else "no dataset folder with a meta.json"
    if dropped:
        why += f"; records dropped: {dict(dropped)}"
    kept = f"; {out_dir} is left as it was" if out_dir.exists() else ""
    return (f"no training instructions would be built from corpus {corpus_dir} ({why}){kept}; "
            "pass --allow-empty to write empty files anyway")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _merge_shard(name: str, counts: dict, jobs, cfg: BuildConfig, dedup: Deduplicator, writer: _StageWriter,
                 stats: BuildStats) -> None:
    stats.merge(counts)
    shard = next(s for p, s in jobs if p.name == name)
    for row in read_jsonl(shard):
        rec = row["r"]
        sig = np.frombuffer(base64.b64decode(row["m"]), dtype="<u8").astype(np.uint64) if "m" in row else None
        why = dedup.check(rec["messages"], group=row["g"], scope=rec["task"], signature=sig)
        if why:
            stats.drop(name, why)
            continue
        stats.per_dataset[(name, rec["task"])] += 1
        for s in cfg.stages_of(rec["task"]):
            writer.write(s, rec)
            stats.keep(s, rec["task"], rec["lang"])
    os.unlink(shard)
