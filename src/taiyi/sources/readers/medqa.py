"""Reader for MedQA (jind11/MedQA) multiple-choice exam questions: USMLE (English) and MCMLE (Chinese).

Why: MedQA is a held-out benchmark of the paper in both languages, published as JSON lines
``{question, options{A..D[E]}, answer (text), answer_idx (letter), meta_info}``. Each line becomes a qa record of
type ``multiple_choice``: choices = option texts in letter order, answer = [the option text named by answer_idx].
An ``answer`` text that disagrees with ``options[answer_idx]`` is a DataError naming file and record number
(malformed JSON: file and line, from ``taiyi.files.read_jsonl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError, read_jsonl
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import field


@register_reader("medqa")
def read_medqa(
    root: Path, *, files: dict[str, str], optional: list[str] = (), lang: str = "en", dataset: str = "med_qa") -> Iterator[dict]:
    """``files`` maps split -> JSONL path (relative to root; splits in ``optional`` may be absent); ids are ``<split>-<n>`` (n = 1-based record number)."""
    root = Path(root)
    if not files:
        raise DataError(f"{root}: reader 'medqa' needs a 'files' option mapping split -> file")
    for split, rel in files.items():
        path = root / rel
        if not path.is_file():
            if split in optional:  # e.g. train/dev of a copy that has only the test split
                continue
            raise DataError(f"{path}: file for split {split!r} not found")
        for n, item in enumerate(read_jsonl(path), 1):
            where = f"{path}: record {n}"
            question, options, idx = field(where, item, "question"), field(where, item, "options", dict), \
                field(where, item, "answer_idx")
            if not isinstance(options, dict) or not options:
                raise DataError(f"{where}: 'options' must be a non-empty object letter -> text")
            letters = sorted(options)
            if idx not in options:
                raise DataError(f"{where}: answer_idx {idx!r} not among option letters {letters}")
            answer = options[idx]
            if "answer" in item and str(item["answer"]).strip() != str(answer).strip():
                raise DataError(f"{where}: answer {item['answer']!r} differs from options[{idx}] = {answer!r}")
            rid = f"{split}-{n}"
            yield new_record(
                "qa", id=rid, document_id=rid, dataset=dataset, split=split, lang=lang, question_id=rid,
                question=question, type="multiple_choice", choices=[str(options[k]) for k in letters],
                answer=[str(answer)],
            )
