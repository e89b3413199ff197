"""PubTator (title/abstract lines, mention lines, relation lines) -> kb records.

Why: BC5CDR (with CID lines), the original NCBI-disease corpus and BioRED ship in this format. The
``bioc`` package's PubTator decoder prints and skips lines it cannot parse and keeps no line numbers, so
this is our own strict parser: every problem names the file and line.

Document text = title + " " + abstract, which is exactly what PubTator offsets index into. Document-level
relations name concept ids; each argument points at the first mention normalised to that concept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines

_TITLE = re.compile(r"^([^|\t]+)\|t\|(.*)$")
_ABSTRACT = re.compile(r"^([^|\t]+)\|a\|(.*)$")
NO_ID = {"", "-", "-1"}


def db_ref(concept: str, default_db: str = "") -> dict:
    """``{db_name, db_id}`` for a concept id like ``D015738``, ``OMIM:215600`` or ``6331``."""
    if ":" in concept and not concept.startswith("p|"):
        db, _, cid = concept.partition(":")
        return {"db_name": db, "db_id": cid}
    if re.fullmatch(r"[DC]\d+", concept):
        return {"db_name": "MESH", "db_id": concept}
    return {"db_name": default_db, "db_id": concept}


def split_ids(raw: str, seps: str) -> list[str]:
    parts = re.split("[" + re.escape(seps) + "]", raw) if seps else [raw]
    return [p.strip() for p in parts if p.strip() not in NO_ID]


def link_relations(rec: dict, rels: list[tuple[str, str, str, str]], where: str, first: dict[str, str]) -> None:
    """Add document-level relations (rel_id, type, concept1, concept2) to ``rec``, pointing at mentions.

    ``first`` maps each raw concept id to the id of its first mention. Raises DataError when a concept
    has no mention in the document.
    """
    for rel_id, rtype, c1, c2 in rels:
        missing = [c for c in (c1, c2) if c not in first]
        if missing:
            raise DataError(f"{where}: relation {rtype} {c1} {c2} names concept(s) {missing} with no mention "
                            f"in document {rec['document_id']}")
        rec["relations"].append({"id": rel_id, "type": rtype, "arg1_id": first[c1], "arg2_id": first[c2],
                                 "normalized": [db_ref(c1), db_ref(c2)]})


def iter_documents(path: Path) -> Iterator[dict]:
    """Raw PubTator blocks: {pmid, title, abstract, mentions[(line, fields)], relations[(line, fields)], line}."""
    doc: dict | None = None
    lines = read_lines(path, complete=True)  # a cut text line would read as a shorter title or abstract
    for no, line in enumerate(lines, 1):
        if not line.strip():
            if doc is not None:
                yield doc
                doc = None
            continue
        m = _TITLE.match(line)
        if m:
            if doc is not None:
                yield doc
            doc = {"pmid": m.group(1), "title": m.group(2), "abstract": None, "mentions": [], "relations": [], "line": no}
            continue
        if doc is None:
            raise DataError(f"{path}:{no}: expected a title line 'PMID|t|...', got {line[:60]!r}")
        m = _ABSTRACT.match(line)
        if m:
            if m.group(1) != doc["pmid"]:
                raise DataError(f"{path}:{no}: abstract of PMID {m.group(1)} inside document {doc['pmid']}")
            doc["abstract"] = m.group(2)
            continue
        fields = line.split("\t")
        if fields[0] != doc["pmid"]:
            raise DataError(f"{path}:{no}: line for PMID {fields[0]!r} inside document {doc['pmid']}")
        if len(fields) >= 6 or (len(fields) == 5 and fields[1].isdigit()):
            doc["mentions"].append((no, fields))
        elif len(fields) in (4, 5):
            doc["relations"].append((no, fields))
        else:
            raise DataError(f"{path}:{no}: cannot parse line with {len(fields)} tab-separated field(s): {line[:80]!r}")
    if doc is not None:
        yield doc


@register_reader("pubtator")
def read_pubtator(root: Path, *, files: dict[str, str], id_separators: str = "|", default_db: str = "",
                  dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """PubTator files, one per split (``files: {split: relative path}``).

    Options: ``id_separators`` characters that split multiple concept ids on a mention line (BioRED
    uses ',', BC5CDR and NCBI '|'; variant ids like ``p|SUB|V|1763|M`` need '|' left out);
    ``default_db`` the database of bare ids.
    Identical repeated documents (NCBI-disease train repeats PMID 8528200) are kept once.
    """
    for split, rel in files.items():
        path = Path(root) / rel
        seen: dict[str, tuple] = {}
        for doc in iter_documents(path):
            where = f"{path}:{doc['line']}"
            if doc["abstract"] is None:
                raise DataError(f"{where}: document {doc['pmid']} has a title but no abstract line (truncated?)")
            key = (doc["title"], doc["abstract"], [f for _, f in doc["mentions"]], [f for _, f in doc["relations"]])
            if doc["pmid"] in seen:
                if seen[doc["pmid"]] == key:
                    continue
                raise DataError(f"{where}: PMID {doc['pmid']} appears twice with different content")
            seen[doc["pmid"]] = key
            yield _record(doc, path, split, id_separators, default_db, dataset, lang)


def _record(doc: dict, path: Path, split: str, seps: str, default_db: str, dataset: str, lang: str) -> dict:
    title, abstract = doc["title"], doc["abstract"]
    text = f"{title} {abstract}"
    rec = new_record("kb", id=doc["pmid"], document_id=doc["pmid"], dataset=dataset, split=split, lang=lang,
                     passages=make_passages([("title", title), ("abstract", abstract)]))
    first: dict[str, str] = {}
    for i, (no, f) in enumerate(doc["mentions"], 1):
        try:
            s, e = int(f[1]), int(f[2])
        except ValueError:
            raise DataError(f"{path}:{no}: offsets {f[1]!r} {f[2]!r} are not integers") from None
        # the document slice is authoritative; mention fields sometimes carry stray outer whitespace
        if not (0 <= s <= e <= len(text)) or text[s:e].strip() != f[3].strip():
            raise DataError(f"{path}:{no}: mention {f[3]!r} at [{s},{e}] does not match the document text "
                            f"({text[s:e]!r})")
        ids = split_ids(f[5], seps) if len(f) > 5 else []
        for c in ids:
            first.setdefault(c, f"T{i}")
        rec["entities"].append({"id": f"T{i}", "type": f[4], "text": [text[s:e]], "offsets": [[s, e]],
                                "normalized": [db_ref(c, default_db) for c in ids]})
    rels = []
    for i, (no, f) in enumerate(doc["relations"], 1):
        rels.append((f"R{i}", f[1], f[2], f[3]))
    link_relations(rec, rels, f"{path}:{doc['line']}", first)
    return rec
