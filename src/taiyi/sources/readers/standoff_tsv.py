"""Texts in a folder + every mention in one TSV (document, start, end, text, concept id) -> kb records.

Why: LINNAEUS ships its full texts as ``txt/<doc>.txt`` and all species mentions as rows of ``tags.tsv``
(``species id, document, start, end, text, code``), with character offsets into the .txt; splits come as
document-id lists from a companion repository. Columns are named in the catalog, so another corpus laid
out this way needs YAML only. Every row's text must equal its slice of the document.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterator

from taiyi.files import DataError
from taiyi.sources.readers.brat import kb_document, read_id_list
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines, read_text

DEFAULT_COLUMNS = {"id": 0, "document": 1, "start": 2, "end": 3, "text": 4}


def _rows(path: Path, columns: dict[str, int]) -> dict[str, list[tuple[int, list[str]]]]:
    """Rows by document (line number kept); lines starting with '#' and blank lines are skipped."""
    need = max(columns.values()) + 1
    out: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
    for no, line in enumerate(read_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) < need:
            raise DataError(f"{path}:{no}: {len(f)} tab-separated fields, expected at least {need}")
        out[f[columns["document"]]].append((no, f))
    return out


@register_reader("standoff_tsv")
def read_standoff_tsv(root: Path, *, texts: str, mentions: str, split_lists: dict[str, str] | None = None,
                      columns: dict[str, int] | None = None, entity_type: str = "entity", db_name: str = "",
                      passage_type: str = "article", dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """``texts``: folder of ``<doc>.txt``; ``mentions``: the TSV; ``split_lists``: ``{split: id list}`` (else every
    document is train). ``columns``: 0-based column of ``document``, ``start``, ``end``, ``text`` and optionally
    ``id`` (concept id, its last ':' part kept under ``db_name``) and ``type`` (else ``entity_type``)."""
    root = Path(root)
    cols = dict(columns or DEFAULT_COLUMNS)
    missing = {"document", "start", "end", "text"} - set(cols)
    if missing:
        raise ValueError(f"standoff_tsv: columns lacks {sorted(missing)}")
    tsv = root / mentions
    by_doc = _rows(tsv, cols)
    folder = root / texts
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found")
    if split_lists:
        splits = {split: read_id_list(root / rel) for split, rel in split_lists.items()}
    else:
        splits = {"train": sorted(p.stem for p in folder.glob("*.txt"))}
    listed = {d for ids in splits.values() for d in ids}
    stray = sorted(set(by_doc) - listed)
    if stray:
        no = by_doc[stray[0]][0][0]
        raise DataError(f"{tsv}:{no}: document {stray[0]} is in no split list "
                        f"({', '.join(sorted((split_lists or {}).values()))}; {len(stray)} such documents)")
    for split, ids in splits.items():
        for doc_id in ids:
            text = read_text(folder / f"{doc_id}.txt")
            rec = kb_document(split, doc_id, text, passage_type, dataset, lang)
            for i, (no, f) in enumerate(by_doc.get(doc_id, []), 1):
                try:
                    s, e = int(f[cols["start"]]), int(f[cols["end"]])
                except ValueError:
                    raise DataError(f"{tsv}:{no}: start/end {f[cols['start']]!r} {f[cols['end']]!r} are not integers") from None
                if not (0 <= s <= e <= len(text)) or text[s:e] != f[cols["text"]]:
                    raise DataError(f"{tsv}:{no}: [{s},{e}] of {doc_id} gives {text[s:e]!r}, not {f[cols['text']]!r}")
                concept = f[cols["id"]].strip() if "id" in cols else ""
                norm = [{"db_name": db_name, "db_id": concept.rpartition(":")[2]}] if concept else []
                etype = f[cols["type"]] if "type" in cols else entity_type
                rec["entities"].append({"id": f"T{i}", "type": etype, "text": [text[s:e]], "offsets": [[s, e]],
                                        "normalized": norm})
            yield rec
