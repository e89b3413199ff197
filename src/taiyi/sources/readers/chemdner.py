"""CHEMDNER (BioCreative IV) original files -> kb records.

Why: the official corpus is an abstracts TSV ``PMID<TAB>Title<TAB>Abstract`` and an annotations TSV
``PMID<TAB>T|A<TAB>start<TAB>end<TAB>mention<TAB>type`` whose offsets are relative to the title (T) or the
abstract (A). Document text = title + " " + abstract, so abstract offsets shift by len(title) + 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines


@register_reader("chemdner")
def read_chemdner(root: Path, *, files: dict[str, list[str]], dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """``files: {split: [abstracts.txt, annotations.txt]}``; one record per abstract."""
    for split, (abs_rel, ann_rel) in files.items():
        abs_path, ann_path = Path(root) / abs_rel, Path(root) / ann_rel
        recs: dict[str, dict] = {}
        parts: dict[str, tuple[str, str]] = {}
        for no, line in enumerate(read_lines(abs_path), 1):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) != 3:
                raise DataError(f"{abs_path}:{no}: expected 'PMID<TAB>Title<TAB>Abstract', got {len(f)} field(s)")
            pmid, title, abstract = f
            if pmid in recs:
                raise DataError(f"{abs_path}:{no}: PMID {pmid} repeated")
            parts[pmid] = (title, abstract)
            recs[pmid] = new_record("kb", id=pmid, document_id=pmid, dataset=dataset, split=split, lang=lang,
                                    passages=make_passages([("title", title), ("abstract", abstract)]))
        for no, line in enumerate(read_lines(ann_path), 1):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) != 6:
                raise DataError(f"{ann_path}:{no}: expected 6 tab-separated fields "
                                f"(PMID, T|A, start, end, mention, type), got {len(f)}")
            pmid, where, s, e, mention, etype = f
            if pmid not in recs:
                raise DataError(f"{ann_path}:{no}: PMID {pmid} has no abstract in {abs_path.name}")
            if where not in ("T", "A"):
                raise DataError(f"{ann_path}:{no}: section {where!r} is neither T nor A")
            try:
                s, e = int(s), int(e)
            except ValueError:
                raise DataError(f"{ann_path}:{no}: offsets {s!r} {e!r} are not integers") from None
            title, abstract = parts[pmid]
            section = title if where == "T" else abstract
            if not (0 <= s <= e <= len(section)) or section[s:e] != mention:
                raise DataError(f"{ann_path}:{no}: {where} offsets [{s},{e}] give {section[s:e]!r}, not {mention!r}")
            shift = 0 if where == "T" else len(title) + 1
            ents = recs[pmid]["entities"]
            ents.append({"id": f"T{len(ents) + 1}", "type": etype, "text": [mention],
                         "offsets": [[s + shift, e + shift]], "normalized": []})
        yield from recs.values()
