"""BioC XML -> kb records, through the ``bioc`` package (the format's reference Python library).

Why: BC5CDR and BioRED are distributed in BioC XML next to PubTator. Passages keep their own offsets
(title at 0, abstract at len(title) + 1), annotations become entities (several locations = a
discontinuous span), and relations are read either from their nodes (``refid``) or, for document-level
relations, from concept-id infons (BioRED ``entity1/entity2``, BC5CDR ``Chemical/Disease``), pointing at
the first mention of each concept. BC5CDR's ``IndividualMention`` parts of composite mentions are
skipped by default, matching the PubTator mention lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.readers.pubtator import db_ref, link_relations, split_ids
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

CONCEPT_KEYS = ("identifier", "MESH", "Identifier")
ARG_KEYS = (("entity1", "entity2"), ("Chemical", "Disease"), ("arg1", "arg2"))


def load_collection(path: Path):
    import bioc
    from xml.etree.ElementTree import ParseError

    text = read_text(path)
    try:
        return bioc.biocxml.loads(text)
    except (ParseError, Exception) as exc:  # lxml / ElementTree errors carry line and column
        raise DataError(f"{path}: malformed BioC XML ({exc})") from None


@register_reader("bioc_xml")
def read_bioc_xml(root: Path, *, files: dict[str, str], id_separators: str = ",|", skip_infons: dict | None = None,
                  dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """BioC XML files, one per split (``files: {split: relative path}``)."""
    skip = {"CompositeRole": "IndividualMention"} if skip_infons is None else skip_infons
    for split, rel in files.items():
        path = Path(root) / rel
        collection = load_collection(path)
        for doc in collection.documents:
            yield _record(doc, path, split, id_separators, skip, dataset, lang)


def _record(doc, path: Path, split: str, seps: str, skip: dict, dataset: str, lang: str) -> dict:
    passages, entities = [], []
    first: dict[str, str] = {}
    text_len = 0
    ann_ids: set[str] = set()
    for i, p in enumerate(doc.passages):
        passages.append({"id": str(i), "type": p.infons.get("type", ""), "text": [p.text or ""],
                         "offsets": [[p.offset, p.offset + len(p.text or "")]]})
        text_len = max(text_len, p.offset + len(p.text or ""))
    buf = [" "] * text_len
    for p in passages:
        s, e = p["offsets"][0]
        buf[s:e] = p["text"][0]
    text = "".join(buf)
    for p in doc.passages:
        for ann in p.annotations:
            if any(ann.infons.get(k) == v for k, v in skip.items()):
                continue
            offsets = sorted([loc.offset, loc.offset + loc.length] for loc in ann.locations)
            texts = [text[s:e] for s, e in offsets]
            if not offsets or any(not (0 <= s <= e <= len(text)) for s, e in offsets) or \
                    " ".join(texts).replace(" ", "") != (ann.text or "").replace(" ", ""):
                raise DataError(f"{path}: document {doc.id} annotation {ann.id}: locations {offsets} give "
                                f"{' '.join(texts)!r}, not {ann.text!r}")
            aid = ann.id if ann.id not in ann_ids else f"{ann.id}_{len(ann_ids)}"
            ann_ids.add(aid)
            raw = next((ann.infons[k] for k in CONCEPT_KEYS if k in ann.infons), "")
            ids = split_ids(raw, seps)
            for c in ids:
                first.setdefault(c, aid)
            entities.append({"id": aid, "type": ann.infons.get("type", ""), "text": texts, "offsets": offsets,
                             "normalized": [db_ref(c) for c in ids]})
    rec = new_record("kb", id=doc.id, document_id=doc.id, dataset=dataset, split=split, lang=lang,
                     passages=passages, entities=entities)
    concept_rels = []
    for r in doc.relations:
        rtype = r.infons.get("type") or r.infons.get("relation", "")
        if r.nodes:
            if len(r.nodes) != 2:
                raise DataError(f"{path}: document {doc.id} relation {r.id} has {len(r.nodes)} nodes, expected 2")
            rec["relations"].append({"id": r.id, "type": rtype, "arg1_id": r.nodes[0].refid,
                                     "arg2_id": r.nodes[1].refid, "normalized": []})
            continue
        keys = next((k for k in ARG_KEYS if k[0] in r.infons and k[1] in r.infons), None)
        if keys is None:
            raise DataError(f"{path}: document {doc.id} relation {r.id} has neither nodes nor concept infons")
        concept_rels.append((r.id, rtype, r.infons[keys[0]], r.infons[keys[1]]))
    link_relations(rec, concept_rels, f"{path}: document {doc.id}", first)
    return rec
