"""Reader for PubMedQA PQA-L (``ori_pqal.json``): yes/no/maybe questions over a PubMed abstract.

Why: PubMedQA is one of Taiyi's held-out benchmarks; its official 500-question test split is defined by
``test_ground_truth.json`` (PMID -> answer), the other 500 questions are the 10-fold CV pool, written here as
``train``. Each question becomes a qa record: type ``yesno`` (BigBio's name for the yes/no/maybe task), choices
``[yes, no, maybe]``, ``context`` = the abstract sections (CONTEXTS) joined with one space, answer = final_decision.
The record id is the PMID. Test answers are cross-checked against ``test_ground_truth.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError, read_json
from taiyi.sources.registry import register_reader

CHOICES = ["yes", "no", "maybe"]


@register_reader("pubmedqa")
def read_pubmedqa(
    root: Path, *, file: str = "ori_pqal.json", test_ground_truth: str | None = "test_ground_truth.json",
    rest_split: str = "train", lang: str = "en", dataset: str = "pubmed_qa",
) -> Iterator[dict]:
    """PQA-L dict PMID -> record; PMIDs in ``test_ground_truth`` are split ``test``, the rest ``rest_split``."""
    root = Path(root)
    path = root / file
    if not path.is_file():
        raise DataError(f"{path}: PubMedQA file not found")
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object PMID -> record, got {type(data).__name__}")
    gold: dict[str, str] = {}
    if test_ground_truth:
        gpath = root / test_ground_truth
        if not gpath.is_file():
            raise DataError(f"{gpath}: PubMedQA test ground truth not found")
        gold = read_json(gpath)
        if not isinstance(gold, dict):
            raise DataError(f"{gpath}: expected a JSON object PMID -> answer")
        absent = sorted(set(gold) - set(data))
        if absent:
            raise DataError(f"{gpath}: {len(absent)} test PMID(s) not in {path.name}, e.g. {absent[:3]}")
    for pmid, item in data.items():
        where = f"{path}: record {pmid}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: expected a JSON object")
        try:
            question, contexts, answer = item["QUESTION"], item["CONTEXTS"], item["final_decision"]
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}") from None
        if answer not in CHOICES:
            raise DataError(f"{where}: final_decision {answer!r} not in {CHOICES}")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise DataError(f"{where}: CONTEXTS must be a list of strings")
        split = "test" if pmid in gold else rest_split
        if pmid in gold and gold[pmid] != answer:
            raise DataError(f"{where}: final_decision {answer!r} differs from test ground truth {gold[pmid]!r}")
        yield new_record(
            "qa", id=pmid, document_id=pmid, dataset=dataset, split=split, lang=lang, question_id=pmid,
            question=question, type="yesno", choices=list(CHOICES), context=" ".join(c.strip() for c in contexts),
            answer=[answer],
        )
