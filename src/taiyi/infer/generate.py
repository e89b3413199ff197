"""Batch generation over a JSONL file of prompts, resumable: the engine behind ``taiyi generate``.

Why: data work and evaluation answer thousands of prompts; a crash or a killed job must not cost the answers
already made. Output lines are appended only when complete (one write per line group, flushed and synced), a
torn last line left by a kill is cut off on the next run, and ids already answered are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from taiyi.files import DataError, dumps, read_jsonl
from taiyi.infer.engine import Engine, GenerationParams, Message, validate_messages


def record_messages(rec: dict, where: str) -> list[Message]:
    """The chat of one input record: ``messages`` as given, or ``prompt`` as a single user turn.

    A trailing assistant turn (e.g. the gold answer of an instruction record) is dropped: we generate it.
    """
    if "messages" in rec:
        try:
            msgs = validate_messages(rec["messages"], "messages")
        except ValueError as exc:
            raise DataError(f"{where}: {exc}") from None
        if msgs[-1]["role"] == "assistant":
            msgs = msgs[:-1]
        if not msgs:
            raise DataError(f"{where}: messages hold only an assistant turn; nothing to answer")
        return msgs
    prompt = rec.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DataError(f"{where}: needs a non-empty 'prompt' string or a 'messages' list")
    return [{"role": "user", "content": prompt}]


def load_requests(path: str | Path) -> list[tuple[str, dict, list[Message]]]:
    """(id, record, messages) for every input line; bad lines raise DataError naming file and line."""
    path = Path(path)
    out, seen = [], {}
    for n, rec in _numbered(path):
        where = f"{path}:{n}"
        rid = rec.get("id")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
            raise DataError(f"{where}: missing or invalid 'id' (a string or integer is required)")
        rid = str(rid)
        if rid in seen:
            raise DataError(f"{where}: duplicate id {rid!r} (first on line {seen[rid]})")
        seen[rid] = n
        out.append((rid, rec, record_messages(rec, where)))
    return out


def _numbered(path: Path):
    """read_jsonl's records paired with their physical line numbers (blank lines are skipped by both)."""
    with open(path, "rb") as fh:
        line_nos = [i for i, ln in enumerate(fh, 1) if ln.strip()]
    return zip(line_nos, read_jsonl(path))


def repair_and_read_done(path: Path) -> set[str]:
    """Ids already answered in ``path``; a torn (newline-less) last line from an interrupted run is removed."""
    if not path.exists():
        return set()
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)
    done = set()
    for line_no, rec in enumerate(read_jsonl(path), 1):
        if "id" not in rec or "answer" not in rec:
            raise DataError(f"{path}:{line_no}: not an answer record (needs 'id' and 'answer'); is this the right output?")
        done.add(str(rec["id"]))
    return done


def run_generate(
    engine: Engine,
    input_path: str | Path,
    output_path: str | Path,
    params: GenerationParams | None = None,
    *,
    batch_size: int = 16,
    progress: bool = True,
) -> dict:
    """Answer every record of ``input_path`` not yet in ``output_path``; returns counts.

    Output records are the input records plus ``"answer"`` (and ``"model"``), in input order per chunk.
    """
    from tqdm import tqdm

    params = params or GenerationParams()
    input_path, output_path = Path(input_path), Path(output_path)
    requests = load_requests(input_path)
    done = repair_and_read_done(output_path)
    todo = [r for r in requests if r[0] not in done]
    output_path.parent.mkdir(parents=True, exist_ok=True)
    chunk = max(1, batch_size) * 4  # a few batches per write: length sorting has room, little is lost on a kill
    bar = tqdm(total=len(requests), initial=len(requests) - len(todo), desc="generate", unit="prompt",
               disable=not progress)
    written = 0
    with open(output_path, "ab") as fh:
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            answers = engine.generate([m for _, _, m in part], params)
            blob = b"".join(
                dumps({**rec, "id": rec["id"], "model": engine.model_name, "answer": ans}) + b"\n"
                for (_, rec, _), ans in zip(part, answers)
            )
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
            written += len(part)
            bar.update(len(part))
    bar.close()
    return {"input": len(requests), "skipped": len(requests) - len(todo), "generated": written,
            "output": str(output_path)}
