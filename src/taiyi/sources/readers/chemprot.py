"""ChemProt (BioCreative VI track 5) original TSVs -> kb records.

Why: the official corpus is four TSVs per split: abstracts (``PMID title abstract``), entities
(``PMID T# type start end text``, offsets into title + one separator + abstract), relations (all CPR
groups, evaluated Y/N) and the gold standard (``PMID CPR:x Arg1:T# Arg2:T#``, the 5 evaluated classes).
``relations: gold_standard`` (default) reads the gold standard; ``all`` reads every relations.tsv line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines


def _rows(path: Path, min_fields: int) -> Iterator[tuple[int, list[str]]]:
    for no, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < min_fields:
            raise DataError(f"{path}:{no}: expected at least {min_fields} tab-separated fields, got {len(f)} "
                            f"(truncated line?)")
        yield no, f


@register_reader("chemprot")
def read_chemprot(root: Path, *, files: dict[str, dict[str, str]], relations: str = "gold_standard",
                  dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """``files: {split: {abstracts, entities, relations, gold_standard}}`` (relative paths)."""
    if relations not in ("gold_standard", "all"):
        raise ValueError(f"relations must be 'gold_standard' or 'all', not {relations!r}")
    root = Path(root)
    for split, paths in files.items():
        abs_path, ent_path = root / paths["abstracts"], root / paths["entities"]
        recs: dict[str, dict] = {}
        texts: dict[str, str] = {}
        for no, f in _rows(abs_path, 3):
            pmid, title, abstract = f[0], f[1], f[2]
            if pmid in recs:
                raise DataError(f"{abs_path}:{no}: PMID {pmid} repeated")
            texts[pmid] = f"{title} {abstract}"
            recs[pmid] = new_record("kb", id=pmid, document_id=pmid, dataset=dataset, split=split, lang=lang,
                                    passages=make_passages([("title", title), ("abstract", abstract)]))
        ids: dict[str, set] = {p: set() for p in recs}
        for no, f in _rows(ent_path, 6):
            pmid, tid, etype, s, e, mention = f[:6]
            if pmid not in recs:
                raise DataError(f"{ent_path}:{no}: PMID {pmid} has no abstract in {abs_path.name}")
            try:
                s, e = int(s), int(e)
            except ValueError:
                raise DataError(f"{ent_path}:{no}: offsets {s!r} {e!r} are not integers") from None
            text = texts[pmid]
            if text[s:e] != mention:
                raise DataError(f"{ent_path}:{no}: entity {tid} at [{s},{e}] gives {text[s:e]!r}, not {mention!r}")
            recs[pmid]["entities"].append({"id": tid, "type": etype, "text": [mention], "offsets": [[s, e]],
                                           "normalized": []})
            ids[pmid].add(tid)
        rel_path = root / paths["gold_standard" if relations == "gold_standard" else "relations"]
        for no, f in _rows(rel_path, 4):
            pmid, group = f[0], f[1]
            args = f[-2:]
            if pmid not in recs:
                raise DataError(f"{rel_path}:{no}: PMID {pmid} has no abstract")
            try:
                a1, a2 = (a.split(":", 1)[1] for a in args)
            except IndexError:
                raise DataError(f"{rel_path}:{no}: expected 'Arg1:T#' 'Arg2:T#', got {args}") from None
            for a in (a1, a2):
                if a not in ids[pmid]:
                    raise DataError(f"{rel_path}:{no}: argument {a} is not an entity of PMID {pmid}")
            rel = {"id": f"R{len(recs[pmid]['relations']) + 1}", "type": group.strip(), "arg1_id": a1, "arg2_id": a2,
                   "normalized": []}
            recs[pmid]["relations"].append(rel)
        yield from recs.values()
