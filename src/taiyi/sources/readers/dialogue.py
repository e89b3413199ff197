"""Readers for Chinese medical dialogue / instruction data: MedDialog-zh, Toyhom's Chinese-medical-dialogue CSV,
and Huatuo/BenTsao instruction files (single-turn JSONL and the multi-turn liver-cancer JSON).

Why: the paper's MRD and QA-sqa data come in three shapes; all become ``dialogue`` records (turns with roles
user/assistant), or — for the CSV, on request — ``qa`` records of type ``free``:

- ``meddialog_zh``: JSON list {id, medical_case, doctor_diagnosis, Department} -> user = case, assistant = diagnosis.
- ``medical_dialogue_csv``: CSV ``department,title,ask,answer`` in GB18030 (encoding configurable). The patient turn
  is ``title`` + newline + ``ask`` (the title is the patient's own headline; dropped when ``ask`` already contains
  it). A byte sequence the encoding cannot decode is a DataError naming the file, the encoding tried and the line.
- ``instruction_dialogue``: {instruction, input, output} records (JSON lines or a JSON list). The user turn is
  ``instruction`` (+ newline + ``input`` when non-empty); an instruction holding a conversation written with
  ``<user>:`` / ``<bot>:`` markers (BenTsao liver-cancer data) is split into its turns, ``output`` closing it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

import orjson

from taiyi.corpus.schema import new_record
from taiyi.files import DataError, read_json
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import check_complete, field

_MARKER = re.compile(r"<(user|bot)>\s*[:：]")


def _file(root: Path, rel: str, what: str) -> Path:
    path = Path(root) / rel
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    return path


def _turns(*pairs: tuple[str, str]) -> list[dict]:
    return [{"role": role, "content": text.strip()} for role, text in pairs]


# --------------------------------------------------------------------------- MedDialog-zh


@register_reader("meddialog_zh")
def read_meddialog_zh(
    root: Path, *, file: str = "Med-dialog_100.json", split: str = "test", lang: str = "zh", dataset: str = "MedDialog-zh"
) -> Iterator[dict]:
    """HuatuoGPT's MedDialog-CN evaluation sample: one two-turn dialogue per case."""
    path = _file(root, file, "MedDialog-zh file")
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list, got {type(data).__name__}")
    seen: set[str] = set()
    for i, item in enumerate(data):
        where = f"{path}: record {i}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: expected a JSON object")
        try:
            case, diag = item["medical_case"], item["doctor_diagnosis"]
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}") from None
        if not (isinstance(case, str) and case.strip() and isinstance(diag, str) and diag.strip()):
            raise DataError(f"{where}: empty medical_case or doctor_diagnosis")
        rid = f"{split}-{item.get('id', i)}"
        if rid in seen:
            raise DataError(f"{where}: duplicate id {item.get('id')!r}")
        seen.add(rid)
        yield new_record(
            "dialogue", id=rid, document_id=str(item.get("id", i)), dataset=dataset, split=split, lang=lang,
            turns=_turns(("user", case), ("assistant", diag)), meta={"department": item.get("Department", "")},
        )


# --------------------------------------------------------------------------- Toyhom CSV (GB18030)


def _decode(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: cannot decode as {encoding} (byte offset {exc.start}: {exc.reason}); "
            f"set the reader option 'encoding' to the file's encoding"
        ) from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None


@register_reader("medical_dialogue_csv")
def read_medical_dialogue_csv(
    root: Path, *, files: dict[str, str], encoding: str = "gb18030", output: str = "qa", lang: str = "zh",
    dataset: str = "Chinese-medical-dialogue-data",
) -> Iterator[dict]:
    """CSV ``department,title,ask,answer`` -> qa (type free) or dialogue records (``output``)."""
    if output not in ("qa", "dialogue"):
        raise ValueError(f"output must be 'qa' or 'dialogue', not {output!r}")
    if not files:
        raise DataError(f"{root}: reader 'medical_dialogue_csv' needs a 'files' option mapping split -> file")
    for split, rel in files.items():
        path = _file(root, rel, f"CSV for split {split!r}")
        text = _decode(path, encoding).lstrip("\ufeff")
        check_complete(path, text)
        reader = csv.DictReader(io.StringIO(text, newline=""))
        need = {"department", "title", "ask", "answer"}
        if not need <= set(reader.fieldnames or []):
            raise DataError(f"{path}:1: header {reader.fieldnames} lacks {sorted(need - set(reader.fieldnames or []))}")
        for n, row in enumerate(reader, 1):
            where = f"{path}:{reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                raise DataError(f"{where}: row {n} has {len(row.get(None) or []) + len(need)} fields, not 4 (bad quoting?)")
            title, ask, answer = row["title"].strip(), row["ask"].strip(), row["answer"].strip()
            question = ask if (not title or title in ask) else (f"{title}\n{ask}" if ask else title)
            if not question or not answer:
                raise DataError(f"{where}: row {n} has an empty question or answer")
            rid = f"{split}-{n}"
            if output == "qa":
                yield new_record(
                    "qa", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang, question=question,
                    type="free", answer=[answer],
                )
            else:
                yield new_record(
                    "dialogue", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang,
                    turns=_turns(("user", question), ("assistant", answer)), meta={"department": row["department"].strip()},
                )


# --------------------------------------------------------------------------- Huatuo / BenTsao instructions


def _instruction_items(path: Path) -> Iterator[tuple[str, dict]]:
    """(location, object) from a JSON list or JSON lines file (BenTsao's llama_data.json is JSON lines)."""
    head = path.read_bytes()[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"["):
        data = read_json(path)
        for i, item in enumerate(data):
            yield f"{path}: record {i}", item
        return
    with open(path, "rb") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{line_no}", orjson.loads(line.removeprefix(b"\xef\xbb\xbf") if line_no == 1 else line)
            except orjson.JSONDecodeError as exc:
                raise DataError(f"{path}:{line_no}: malformed JSON ({exc})") from None


def _split_markers(text: str) -> list[tuple[str, str]] | None:
    """Turns of a ``<user>: .. <bot>: ..`` transcript, or None when it has no markers."""
    marks = list(_MARKER.finditer(text))
    if not marks or text[: marks[0].start()].strip():
        return None
    out = []
    for m, nxt in zip(marks, marks[1:] + [None]):
        content = text[m.end(): nxt.start() if nxt else len(text)]
        out.append(("user" if m.group(1) == "user" else "assistant", content))
    return out


@register_reader("instruction_dialogue")
def read_instruction_dialogue(
    root: Path, *, files: dict[str, str], lang: str = "zh", dataset: str = "BenTsao_llamadata"
) -> Iterator[dict]:
    """{instruction, input, output} -> dialogue; ``<user>:``/``<bot>:`` transcripts become multi-turn dialogues."""
    if not files:
        raise DataError(f"{root}: reader 'instruction_dialogue' needs a 'files' option mapping split -> file")
    for split, rel in files.items():
        path = _file(root, rel, f"instruction file for split {split!r}")
        for n, (where, item) in enumerate(_instruction_items(path), 1):
            if not isinstance(item, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(item).__name__}")
            instruction, output = field(where, item, "instruction"), field(where, item, "output")
            extra = (field(where, item, "input", (str, type(None)), optional=True) or "").strip()
            turns = _split_markers(instruction)
            if turns is None:
                turns = [("user", instruction + ("\n" + extra if extra else ""))]
            elif extra:
                turns[-1] = (turns[-1][0], turns[-1][1].strip() + "\n" + extra)
            if turns[-1][0] != "user":
                raise DataError(f"{where}: transcript in 'instruction' ends with a bot turn; 'output' must answer a user turn")
            turns.append(("assistant", output))
            turns = _turns(*turns)
            empty = [i for i, t in enumerate(turns) if not t["content"]]
            if empty:
                raise DataError(f"{where}: turn {empty[0]} is empty")
            rid = f"{split}-{n}"
            yield new_record(
                "dialogue", id=rid, document_id=str(item.get("id", rid)), dataset=dataset, split=split, lang=lang,
                turns=turns, meta={},
            )
