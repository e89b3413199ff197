"""The one generic evaluation loop: items -> answers (cached, batched) -> parsed structures -> the paper's metrics.

Why: every benchmark is configuration (registry.py); this module is the only code that runs a model on them.
It reads a benchmark's items from a prebuilt ``instructions/eval/<name>.jsonl`` or straight from the raw data
through the catalog, asks any engine (in-process model, adapter, OpenAI-compatible endpoint) for greedy
answers in batches, caches each answer in ``predictions.jsonl`` as soon as its batch is done (so an
interrupted run resumes and a re-run only re-scores), parses answers with the task codec (unreadable answers
are counted and scored wrong, never crash) and scores them with ``metrics.py``. ``--oracle`` replaces the
model by the gold answers rendered in every answer phrasing: a self-check of render/parse/metrics that must
give 100 everywhere.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import orjson

from taiyi.evaluate import metrics
from taiyi.evaluate.registry import Benchmark, select
from taiyi.files import DataError, dumps, read_json, read_jsonl, write_json
from taiyi.instructions.tasks.base import Instruction, ParseError, get_codec, load_templates

log = logging.getLogger(__name__)

# Default answer budget per task (tokens): structured extraction needs room, choices very little.
MAX_NEW_TOKENS = {"ner": 512, "re": 512, "cls": 128, "pair": 64, "mcqa": 64}
INSTRUCTION_FIELDS = ("id", "dataset", "task", "lang", "template_id", "messages", "target", "document_id", "meta")


class BenchmarkUnavailable(RuntimeError):
    """The benchmark's data is not where we were told to look (it is skipped, with this reason)."""


# --- items ------------------------------------------------------------------------------------------------


def _instruction(rec: dict, where: str) -> Instruction:
    missing = [k for k in INSTRUCTION_FIELDS if k not in rec and k != "meta"]
    if missing:
        raise DataError(f"{where}: missing field(s) {missing}")
    return Instruction(**{k: rec.get(k, {}) if k == "meta" else rec[k] for k in INSTRUCTION_FIELDS})


def read_eval_file(path: Path, limit: int | None = None) -> list[Instruction]:
    """Items of a prebuilt ``instructions/eval/<benchmark>.jsonl`` (first ``limit`` documents)."""
    items: list[Instruction] = []
    docs: set[str] = set()
    for n, rec in enumerate(read_jsonl(path), 1):
        item = _instruction(rec, f"{path}: item {rec.get('id', f'#{n}')}")
        if limit is not None and item.document_id not in docs and len(docs) >= limit:
            break
        docs.add(item.document_id)
        items.append(item)
    return items


def read_benchmark_data(bench: Benchmark, data_root: Path, limit: int | None = None, seed: int = 0,
                        datasets: dict | None = None) -> list[Instruction]:
    """Items built from the raw dataset files under ``data_root`` through the catalog and the codec.

    ``datasets`` memoises read datasets within one run (BC5CDR serves three benchmarks).
    """
    from taiyi.instructions.benchmarks import eval_items
    from taiyi.sources import convert
    from taiyi.sources.catalog import get_entry

    entries = []
    for name in bench.dataset_names:
        try:
            entries.append(get_entry(name))
        except KeyError:
            continue
    # the first catalog name whose reader is supported (else the first known, whose error is then reported)
    entry = next((e for e in entries if e.data.get("status", "supported") == "supported"), entries[0] if entries else None)
    if entry is None:
        raise BenchmarkUnavailable(f"none of {list(bench.dataset_names)} is in the dataset catalog")
    folder = Path(data_root) / entry.path
    if not folder.is_dir():
        raise BenchmarkUnavailable(f"{folder} does not exist (dataset {entry.name} not under --data-root)")
    key = (entry.name, str(data_root))
    datasets = {} if datasets is None else datasets
    if key not in datasets:
        try:
            datasets[key] = convert.read_dataset(entry.name, data_root)
        except (FileNotFoundError, getattr(convert, "NotSupportedError", FileNotFoundError)) as exc:
            raise BenchmarkUnavailable(f"dataset {entry.name}: {exc}") from None
    splits = datasets[key]
    if not splits.get(bench.split):
        raise BenchmarkUnavailable(f"dataset {entry.name} under {folder} has no {bench.split!r} split")
    info = dict(getattr(entry, "data", entry))
    return eval_items(bench.spec, splits[bench.split], info, seed=seed, limit=limit)


def load_items(bench: Benchmark, *, data_root: Path | None = None, eval_dir: Path | None = None,
               limit: int | None = None, seed: int = 0, datasets: dict | None = None) -> list[Instruction]:
    """A benchmark's items: the prebuilt eval file when ``eval_dir`` has it, else the raw data under ``data_root``."""
    if eval_dir is not None and (Path(eval_dir) / f"{bench.name}.jsonl").is_file():
        return read_eval_file(Path(eval_dir) / f"{bench.name}.jsonl", limit)
    if data_root is None:
        where = f"{eval_dir}/{bench.name}.jsonl does not exist and " if eval_dir else ""
        raise BenchmarkUnavailable(f"{where}no --data-root was given")
    return read_benchmark_data(bench, Path(data_root), limit, seed, datasets)


def prompt_of(item: Instruction) -> list[dict]:
    """The conversation to answer: the item's messages without the gold assistant turn."""
    msgs = list(item.messages)
    while msgs and msgs[-1].get("role") == "assistant":
        msgs.pop()
    if not msgs:
        raise DataError(f"item {item.id}: no user message to answer")
    return msgs


def source_text(item: Instruction) -> str:
    """The text mentions are grounded in: ``meta['text']`` when the codec kept it, else the user prompt."""
    text = item.meta.get("text") if isinstance(item.meta, dict) else None
    return text if isinstance(text, str) else "\n".join(m["content"] for m in prompt_of(item))


def prompt_key(item: Instruction) -> str:
    return hashlib.sha256(dumps(prompt_of(item))).hexdigest()[:16]


# --- oracle -----------------------------------------------------------------------------------------------


def n_phrasings(task: str, lang: str) -> int:
    answers = load_templates(task, lang).answers
    return len(answers) if isinstance(answers, (list, tuple, dict)) and answers else 1


def oracle_items(items: Sequence[Instruction]) -> tuple[list[Instruction], dict[str, str]]:
    """Each item once per answer phrasing, with the gold target rendered in that phrasing as the 'answer'."""
    out, answers = [], {}
    for item in items:
        codec = get_codec(item.task)
        for k in range(n_phrasings(item.task, item.lang)):
            clone = Instruction(**{f: getattr(item, f) for f in INSTRUCTION_FIELDS})
            clone.id = f"{item.id}@answer{k}"
            clone.document_id = f"{item.document_id}@answer{k}"
            clone.template_id = f"{item.template_id}/answer{k}"
            answers[clone.id] = codec.render(item.target, item.meta, k)
            out.append(clone)
    return out, answers


# --- predictions cache ------------------------------------------------------------------------------------


class PredictionCache:
    """``predictions.jsonl``: one line per answered item, appended batch by batch (a torn last line is dropped)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: dict[tuple[str, str], dict] = {}
        if self.path.exists():
            data = self.path.read_bytes()
            lines = data.split(b"\n")
            complete = lines[:-1]  # the part after the last newline is a torn write (or empty)
            for n, line in enumerate(complete, 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise DataError(f"{self.path}:{n}: malformed JSON ({exc}); delete the file to start over") from None
                self.rows[(row["benchmark"], row["id"])] = row
            if lines[-1].strip():
                log.warning("%s: dropping a torn last line (interrupted write)", self.path)
                with open(self.path, "wb") as fh:
                    fh.write(b"\n".join(complete) + (b"\n" if complete else b""))

    def get(self, bench: str, item: Instruction) -> dict | None:
        row = self.rows.get((bench, item.id))
        return row if row is not None and row.get("prompt_sha") == prompt_key(item) else None

    def add(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            for row in rows:
                fh.write(dumps(row) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        for row in rows:
            self.rows[(row["benchmark"], row["id"])] = row


# --- answering --------------------------------------------------------------------------------------------


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item", disable=not enabled, leave=False)


def _generate_batch(engine, batch: Sequence[Instruction], params) -> tuple[list[str | None], list[str | None]]:
    """Answers of one batch; when the batch fails (e.g. one prompt exceeds the model's context), item by item,
    and an item that still fails gets no answer (scored as a failure, the reason kept) instead of ending the run."""
    try:
        return list(engine.generate([prompt_of(it) for it in batch], params)), [None] * len(batch)
    except ValueError as exc:
        if len(batch) == 1:
            log.warning("item %s: generation failed: %s", batch[0].id, exc)
            return [None], [f"generation failed: {exc}"]
    texts, errors = [], []
    for it in batch:
        t, e = _generate_batch(engine, [it], params)
        texts += t
        errors += e
    return texts, errors


def generate_answers(engine, bench: Benchmark, items: Sequence[Instruction], cache: PredictionCache, *,
                     batch_size: int = 16, max_new_tokens: int | None = None, progress: bool = True) -> int:
    """Greedy answers for the items not yet cached, in batches of similar prompt length; returns how many ran."""
    from taiyi.infer.engine import GenerationParams

    todo = [it for it in items if cache.get(bench.name, it) is None]
    todo.sort(key=lambda it: len(source_text(it)))
    params = GenerationParams.greedy(max_new_tokens=max_new_tokens or MAX_NEW_TOKENS.get(bench.task, 256))
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
                codec = get_codec(it.task)
                for c in choices:
                    pairs.append((prompt_of(it), codec.render(c, it.meta, 0)))
                    owners.append((it, c))
            scores = engine.loglikelihood(pairs)
            best: dict[str, tuple[float, str, list]] = {}
            for (it, c), s in zip(owners, scores):
                b = best.setdefault(it.id, (float("-inf"), "", []))
                b[2].append(s)
                if s > b[0]:
                    best[it.id] = (s, c, b[2])
            cache.add({"benchmark": bench.name, "id": it.id, "prompt_sha": prompt_key(it), "mode": "loglikelihood",
                       "answer": get_codec(it.task).render(best[it.id][1], it.meta, 0),
                       "choice_logprobs": best[it.id][2]} for it in batch)
            bar.update(len(batch))
    return len(todo)


# --- scoring ----------------------------------------------------------------------------------------------


@dataclass
class Parsed:
    item: Instruction
    answer: str | None
    pred: Any  # None: parse failure
    error: str | None = None


def parse_answers(items: Sequence[Instruction], answers: dict[str, str | None],
                  errors: dict[str, str] | None = None) -> list[Parsed]:
    """Codec-parse each answer; unreadable (or missing) answers become ``pred=None`` with the reason kept."""
    out = []
    for it in items:
        text = answers.get(it.id)
        if text is None:
            out.append(Parsed(it, None, None, errors.get(it.id, "no answer") if errors else "no answer"))
            continue
        try:
            out.append(Parsed(it, text, get_codec(it.task).parse(text, it.meta)))
        except ParseError as exc:
            out.append(Parsed(it, text, None, f"ParseError: {exc}"))
        except Exception as exc:  # a codec bug on odd output must not end a long run; it is counted and shown
            out.append(Parsed(it, text, None, f"{type(exc).__name__}: {exc}"))
    return out


@dataclass
class DocRow:
    """One document's pooled prediction and gold sets (strict and grounded), and the answers behind them."""

    doc: str
    parsed: list[Parsed]
    pred: set
    gold: set
    gpred: set | None = None
    ggold: set | None = None


def doc_rows(bench: Benchmark, parsed: Sequence[Parsed]) -> list[DocRow]:
    """Per-document unions (several items of one document pool into the document's set), grounded once.

    An unreadable answer adds one element that matches nothing, so it is scored wrong even on a document
    whose gold set is empty.
    """
    rows: dict[str, DocRow] = {}
    for p in parsed:
        row = rows.setdefault(p.item.document_id, DocRow(p.item.document_id, [], set(), set()))
        row.parsed.append(p)
        row.gold.update(tuple(x) for x in p.item.target or ())
        if p.pred is None:
            row.pred.add((metrics.UNPARSEABLE, p.item.id, ""))
        else:
            row.pred.update(tuple(x) for x in p.pred)
    kind = "ner" if bench.scoring == "entity_sets" else "re"
    out = list(rows.values())
    gp, gg = metrics.grounded_sets([r.pred for r in out], [r.gold for r in out],
                                   [source_text(r.parsed[0].item) for r in out], kind)
    for r, a, b in zip(out, gp, gg):
        r.gpred, r.ggold = a, b
    return out


def score_rows(bench: Benchmark, rows: Sequence[DocRow]) -> dict[str, Any]:
    strict = metrics.set_f1([r.pred for r in rows], [r.gold for r in rows])
    grounded = metrics.grounded_score([r.gpred for r in rows], [r.ggold for r in rows],
                                      "ner" if bench.scoring == "entity_sets" else "re")
    per_type = strict.pop("per_type")
    grounded.pop("per_type")
    return {"score": strict["f1"], "strict": strict, "grounded": grounded, "per_type": per_type}


def score_items(bench: Benchmark, parsed: Sequence[Parsed]) -> dict[str, Any]:
    """Label-set F1 or multiple-choice accuracy over items."""
    if bench.scoring == "label_sets":
        res = metrics.label_f1([p.pred for p in parsed], [p.item.target for p in parsed])
        per_type = res.pop("per_type")
        return {"score": res["f1"], "strict": res, "per_type": per_type}
    res = metrics.accuracy([p.pred for p in parsed], [p.item.target for p in parsed],
                           [p.item.meta.get("choices") or () for p in parsed])
    return {"score": res["accuracy"], "strict": res}


def score_parsed(bench: Benchmark, parsed: Sequence[Parsed]) -> dict[str, Any]:
    """The benchmark's main score plus details (P/R/F1, per type, grounded F1) for a list of parsed answers."""
    if bench.scoring in ("entity_sets", "relation_sets"):
        return score_rows(bench, doc_rows(bench, parsed))
    return score_items(bench, parsed)


def score_benchmark(bench: Benchmark, items: Sequence[Instruction], answers: dict[str, str | None],
                    n_worst: int = 3, errors: dict[str, str] | None = None) -> tuple[dict[str, Any], list[Parsed]]:
    """Score, parse failures, per-template breakdown and the worst answers of one benchmark."""
    parsed = parse_answers(items, answers, errors)
    by_doc = bench.scoring in ("entity_sets", "relation_sets")
    units: list = doc_rows(bench, parsed) if by_doc else list(parsed)  # documents, or items

    def unit_score(us: Sequence) -> float:
        return (score_rows(bench, us) if by_doc else score_items(bench, us))["score"]

    def own_score(u) -> float:  # one document's strict F1 (or one item's score), cheaply
        if not by_doc:
            return unit_score([u])
        tp = len(u.pred & u.gold)
        return metrics.prf(tp, len(u.pred) - tp, len(u.gold) - tp)["f1"]

    def first(u) -> Parsed:
        return u.parsed[0] if by_doc else u

    res = score_rows(bench, units) if by_doc else score_items(bench, units)
    by_template: dict[str, list] = defaultdict(list)
    for u in units:
        by_template[first(u).item.template_id].append(u)
    ranked = sorted(((own_score(u), i, u) for i, u in enumerate(units)), key=lambda t: (t[0], t[1]))
    worst = []
    for sc, _, u in ranked[:n_worst]:
        if sc >= 100.0:
            break
        ps = u.parsed if isinstance(u, DocRow) else [u]
        worst.append({"id": ps[0].item.id, "template_id": ps[0].item.template_id, "score": sc,
                      "prompt": prompt_of(ps[0].item)[-1]["content"],
                      "answer": "\n---\n".join(p.answer or "" for p in ps),
                      "gold": ps[0].item.target if len(ps) == 1 else sorted(u.gold),
                      "parse_error": next((p.error for p in ps if p.error), None)})
    failures = [p for p in parsed if p.pred is None]
    res.update(
        task=bench.task, dataset=bench.dataset, split=bench.split, metric=bench.metric, lang=bench.lang,
        n_items=len(parsed), n_documents=len({p.item.document_id for p in parsed}),
        parse_failures=len(failures), parse_failure_examples=[
            {"id": p.item.id, "answer": (p.answer or "")[:300], "error": p.error} for p in failures[:3]],
        per_template={t: {"score": unit_score(us), "n": len(us)} for t, us in sorted(by_template.items())},
        worst=worst,
    )
    return res, parsed


# --- the run ----------------------------------------------------------------------------------------------


@dataclass
class EvalConfig:
    out: Path
    benchmarks: str | list[str] = "all"
    benchmark_set: str = "paper"
    model: str | None = None
    adapter: str | None = None
    endpoint: str | None = None
    backend: str = "hf"
    data_root: Path | None = None
    eval_dir: Path | None = None
    limit: int | None = None
    mc_mode: str = "generate"
    oracle: bool = False
    batch_size: int = 16
    max_new_tokens: int | None = None
    seed: int = 0
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def identity(self) -> dict:
        """What the cached answers depend on: a different model or mode must not reuse them."""
        return {"model": self.model, "adapter": self.adapter, "endpoint": self.endpoint, "mc_mode": self.mc_mode,
                "oracle": self.oracle, "max_new_tokens": self.max_new_tokens, "seed": self.seed}


def _check_identity(cfg: EvalConfig) -> None:
    path = cfg.out / "run.json"
    if path.exists():
        old = read_json(path)
        if old != cfg.identity():
            raise DataError(
                f"{path}: {cfg.out} holds predictions of another run ({old}); "
                f"use a new --out, or delete {cfg.out / 'predictions.jsonl'} to start over")
    else:
        write_json(path, cfg.identity())


def run_eval(cfg: EvalConfig, engine=None, echo: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Answer (or reuse cached answers for) every selected benchmark and score it; writes predictions.jsonl and
    run.json under ``cfg.out`` and returns the scores document (the report module writes the rest)."""
    cfg.out = Path(cfg.out)
    cfg.out.mkdir(parents=True, exist_ok=True)
    benches = select(cfg.benchmarks, cfg.benchmark_set)
    if not cfg.oracle:
        _check_identity(cfg)
    cache = None if cfg.oracle else PredictionCache(cfg.out / "predictions.jsonl")
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    oracle_rows: list[dict] = []
    datasets: dict = {}
    owns_engine = False
    try:
        for bench in benches:
            try:
                items = load_items(bench, data_root=cfg.data_root, eval_dir=cfg.eval_dir, limit=cfg.limit, seed=cfg.seed,
                                   datasets=datasets)
            except BenchmarkUnavailable as exc:
                skipped[bench.name] = str(exc)
                echo(f"skip {bench.name}: {exc}")
                continue
            if not items:
                skipped[bench.name] = "no items"
                continue
            if cfg.oracle:
                items, answers = oracle_items(items)
                oracle_rows.extend({"benchmark": bench.name, "id": i, "mode": "oracle", "answer": a} for i, a in answers.items())
                ran = 0
            else:
                if engine is None:
                    from taiyi.infer.engine import load_engine

                    engine = load_engine(cfg.model, adapter=cfg.adapter, endpoint=cfg.endpoint,
                                         backend="openai" if cfg.endpoint else cfg.backend)
                    owns_engine = True
                if cfg.mc_mode == "loglikelihood" and bench.task == "mcqa":
                    ran = loglikelihood_answers(engine, bench, items, cache, batch_size=cfg.batch_size, progress=cfg.progress)
                else:
                    ran = generate_answers(engine, bench, items, cache, batch_size=cfg.batch_size,
                                           max_new_tokens=cfg.max_new_tokens, progress=cfg.progress)
                rows = {it.id: cache.get(bench.name, it) or {} for it in items}
                answers = {i: r.get("answer") for i, r in rows.items()}
                errors = {i: r["error"] for i, r in rows.items() if r.get("error")}
            res, _ = score_benchmark(bench, items, answers, errors=errors if not cfg.oracle else None)
            res["generated"] = ran
            res["cached"] = len(items) - ran if not cfg.oracle else 0
            if bench.paper is not None:
                res["paper"] = {"taiyi": bench.paper.taiyi, "chatgpt35": bench.paper.chatgpt35,
                                "sota": bench.paper.sota, "sota_system": bench.paper.sota_system}
            results[bench.name] = res
            echo(f"{bench.name}: {res['score']:.1f} ({res['n_items']} items, {res['parse_failures']} parse failures, "
                 f"{ran} generated)")
    finally:
        if owns_engine and engine is not None:
            engine.close()
    if cfg.oracle:
        from taiyi.files import write_jsonl

        write_jsonl(cfg.out / "predictions.jsonl", oracle_rows)
    scored = [r["score"] for r in results.values()]
    return {
        "run": {**cfg.identity(), "benchmarks": [b.name for b in benches], "limit": cfg.limit,
                "data_root": str(cfg.data_root) if cfg.data_root else None,
                "eval_dir": str(cfg.eval_dir) if cfg.eval_dir else None, **cfg.extra},
        "benchmarks": results,
        "skipped": skipped,
        "average": sum(scored) / len(scored) if scored else None,
    }
