"""XML with mentions tagged inline (``<Title>The <gene g_id="7040">TGFB1</gene> gene ...</Title>``) -> kb records.

Why: OSIRIS ships as ``Articles/Article(Pmid, Title, Abstract)`` with ``<gene>`` and ``<variant>`` tags inside
the text; offsets do not exist in the file, so they are computed while the text is rebuilt (element text,
then each child, then its tail), which reproduces every mention exactly. Which elements are documents,
passages and mentions, and which attribute holds a mention's concept id, is said in the catalog.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader


def _flatten(el: ET.Element, tags: dict[str, dict], base: int, out: list[tuple[str, int, int, dict]]) -> str:
    """The element's text; mentions (tag, start, end, attributes) appended to ``out`` with offsets from ``base``."""
    parts = [el.text or ""]
    pos = base + len(parts[0])
    for child in el:
        start = pos
        inner = _flatten(child, tags, start, out)
        if child.tag in tags:
            out.append((child.tag, start, start + len(inner), dict(child.attrib)))
        parts += [inner, child.tail or ""]
        pos = start + len(inner) + len(child.tail or "")
    return "".join(parts)


@register_reader("inline_xml")
def read_inline_xml(root: Path, *, files: dict[str, str], document: str, id_field: str, passages: list[str],
                    mentions: dict[str, dict], no_id: list[str] | None = None, dataset: str = "",
                    lang: str = "en") -> Iterator[dict]:
    """``files``: ``{split: xml file}``; ``document``: the tag of one document; ``id_field``: its child holding
    the id; ``passages``: child tags read as passages, in order; ``mentions``: ``{tag: {type, id_attr, db_name}}``
    (``id_attr``/``db_name`` optional); ``no_id``: id values meaning 'not normalised' (OSIRIS writes ``No``)."""
    empty = set(no_id or []) | {""}
    for split, rel in files.items():
        path = Path(root) / rel
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        try:
            tree = ET.parse(path)
        except ET.ParseError as exc:
            raise DataError(f"{path}: malformed XML ({exc})") from None
        docs = list(tree.getroot().iter(document))
        if not docs:
            raise DataError(f"{path}: no <{document}> elements")
        seen: set[str] = set()
        for n, doc in enumerate(docs, 1):
            doc_id = (doc.findtext(id_field) or "").strip()
            if not doc_id or doc_id in seen:
                raise DataError(f"{path}: <{document}> number {n} has {'a repeated' if doc_id else 'no'} <{id_field}> ({doc_id!r})")
            seen.add(doc_id)
            texts, found, base = [], [], 0
            for tag in passages:
                el = doc.find(tag)
                text = _flatten(el, mentions, base, found) if el is not None else ""
                texts.append((tag.lower(), text))
                base += len(text) + 1  # passages joined by one space (make_passages)
            rec = new_record("kb", id=doc_id, document_id=doc_id, dataset=dataset, split=split, lang=lang,
                             passages=make_passages(texts))
            full = " ".join(t for _, t in texts)
            for i, (tag, s, e, attrs) in enumerate(found, 1):
                spec = mentions[tag]
                concept = attrs.get(spec.get("id_attr", ""), "").strip()
                norm = [] if concept in empty else [{"db_name": spec.get("db_name", ""), "db_id": concept}]
                rec["entities"].append({"id": f"T{i}", "type": spec.get("type", tag), "text": [full[s:e]],
                                        "offsets": [[s, e]], "normalized": norm})
            yield rec
