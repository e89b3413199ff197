"""Hallmarks of Cancer: the raw corpus (``text/<PMID>.txt`` + ``labels/<PMID>.txt``) and the BLURB TSV -> text records.

Why: HoC is the paper's multi-label classification benchmark. BLURB gives sentences with 10 ``i_0/1``
flags in the BLUE label order; the usual evaluation is per abstract over the union of its sentence labels
(``level: abstract``, default) but ``level: sentence`` keeps the sentence rows. The raw corpus labels
each sentence with ``<``-separated segments, ``AND`` between labels and ``--`` between hierarchy levels;
we keep the top level (the 10 hallmarks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines

HALLMARKS = (  # BLUE order (create_hoc.py)
    "activating invasion and metastasis", "avoiding immune destruction", "cellular energetics",
    "enabling replicative immortality", "evading growth suppressors", "genomic instability and mutation",
    "inducing angiogenesis", "resisting cell death", "sustaining proliferative signaling",
    "tumor promoting inflammation",
)


def _flags(raw: str, where: str) -> list[str]:
    labels = []
    for i, part in enumerate(raw.split(",")):
        idx, _, flag = part.partition("_")
        if idx != str(i) or flag not in ("0", "1"):
            raise DataError(f"{where}: label field {raw[:60]!r} is not 10 flags '0_x,1_x,...,9_x'")
        if flag == "1":
            labels.append(HALLMARKS[i])
    if len(raw.split(",")) != len(HALLMARKS):
        raise DataError(f"{where}: expected {len(HALLMARKS)} label flags, got {len(raw.split(','))}")
    return labels


@register_reader("hoc_blurb")
def read_hoc_blurb(root: Path, *, files: dict[str, str], level: str = "abstract", dataset: str = "",
                   lang: str = "en") -> Iterator[dict]:
    """BLURB TSV (``labels<TAB>sentence<TAB>PMID_sN`` with a header), per abstract or per sentence."""
    if level not in ("abstract", "sentence"):
        raise ValueError(f"level must be 'abstract' or 'sentence', not {level!r}")
    for split, rel in files.items():
        path = Path(root) / rel
        lines = read_lines(path)
        if not lines or lines[0].split("\t")[:2] != ["labels", "sentence"]:
            raise DataError(f"{path}:1: expected the header 'labels<TAB>sentence<TAB>index'")
        docs: dict[str, list[tuple[str, list[str]]]] = {}
        for no, line in enumerate(lines[1:], 2):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) != 3:
                raise DataError(f"{path}:{no}: expected 3 tab-separated fields, got {len(f)}")
            labels = _flags(f[0], f"{path}:{no}")
            pmid, _, sn = f[2].rpartition("_s")
            if not pmid or not sn.isdigit():
                raise DataError(f"{path}:{no}: index {f[2]!r} is not PMID_sN")
            if level == "sentence":
                yield new_record("text", id=f[2], document_id=pmid, dataset=dataset, split=split, lang=lang,
                                 text=f[1], labels=labels)
            else:
                docs.setdefault(pmid, []).append((f[1], labels))
        for pmid, sents in docs.items():
            labels = sorted({lab for _, ls in sents for lab in ls}, key=HALLMARKS.index)
            yield new_record("text", id=pmid, document_id=pmid, dataset=dataset, split=split, lang=lang,
                             text=" ".join(s for s, _ in sents), labels=labels)


@register_reader("hoc_raw")
def read_hoc_raw(root: Path, *, text_dir: str = "raw_corpus/text", label_dir: str = "raw_corpus/labels",
                 split: str = "train", dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """The official raw corpus (no split: everything goes to ``split``), one record per abstract."""
    tdir, ldir = Path(root) / text_dir, Path(root) / label_dir
    files = sorted(tdir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no .txt files in {tdir}")
    lookup = {h.lower(): h for h in HALLMARKS}
    for txt in files:
        sents = read_lines(txt)
        lab_path = ldir / txt.name
        raw = read_lines(lab_path)
        segments = "".join(raw).split("<")[1:] if raw else []
        if len(segments) != len(sents):
            raise DataError(f"{lab_path}:1: {len(segments)} label segment(s) for {len(sents)} sentence(s) in {txt.name}")
        labels = set()
        for seg in segments:
            for lab in seg.split("AND"):
                top = lab.split("--")[0].strip().lower()
                if not top or top == "null":
                    continue
                if top not in lookup:
                    raise DataError(f"{lab_path}:1: unknown hallmark {top!r}")
                labels.add(lookup[top])
        yield new_record("text", id=txt.stem, document_id=txt.stem, dataset=dataset, split=split, lang=lang,
                         text=" ".join(s.strip() for s in sents), labels=sorted(labels, key=HALLMARKS.index))
