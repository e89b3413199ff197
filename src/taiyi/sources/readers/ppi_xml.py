"""The unified protein-protein-interaction XML (BioInfer, HPRD50, IEPA, AIMed, LLL) -> kb records.

Why: the five PPI benchmarks circulate in one "learning format" (``corpus/document/sentence[@text]/entity
[@charOffset]/interaction[@e1 @e2]``); one reader with options covers them. Offsets are sentence-relative,
end-exclusive, ``s-e`` or ``s-e,s-e`` for discontinuous names whose ``text`` is the fragments joined by one
space (checked). Interactions are the positive pairs only (negatives are the unlisted pairs). ``unit`` is
what a record is: a ``document`` (sentences as passages joined with one space, HPRD50/IEPA count documents)
or a ``sentence`` (BioInfer counts sentences). HPRD50's ``type`` attribute holds HPRD ids, not types:
``type_is_id: HPRD`` turns it into normalisations (``||`` separates several) and uses ``entity_type``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal
from xml.etree import ElementTree as ET

from pydantic import Field

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.fieldmap import StrictOptions, options_model, parse_options
from taiyi.sources.readers.xml_records import parse_xml
from taiyi.sources.registry import register_reader

READER = "ppi_xml"


class PpiOptions(StrictOptions):
    files: dict[str, str] = Field(description="split -> PPI XML file")
    unit: Literal["document", "sentence"] = "document"
    entity_type: str = "protein"  # for entities without a type attribute (or when type_is_id is set)
    type_is_id: str | None = None  # db name: the type attribute holds concept ids of this database
    relation_type: str | None = None  # default: the interaction's own type attribute
    dataset: str = ""
    lang: str = "en"


def _spans(value: str, where: str) -> list[list[int]]:
    try:
        return [[int(a), int(b)] for a, b in (part.split("-") for part in value.split(","))]
    except ValueError:
        raise DataError(f"{where}: malformed charOffset {value!r}") from None


def sentence_annotations(sent: ET.Element, opts: PpiOptions, shift: int, where: str) -> tuple[list, list]:
    """(entities, relations) of one sentence, offsets moved by ``shift`` into the record's text."""
    text = sent.get("text") or ""
    ents, ids = [], set()
    for e in sent.findall("entity"):
        eid, spans = e.get("id"), _spans(e.get("charOffset", ""), f"{where} entity {e.get('id')}")
        parts = [text[s:t] for s, t in spans]
        if any(not (0 <= s < t <= len(text)) for s, t in spans) or " ".join(parts) != e.get("text"):
            raise DataError(f"{where}: entity {eid} charOffset {e.get('charOffset')} gives {' '.join(parts)!r}, "
                            f"not {e.get('text')!r}")
        raw_type = e.get("type")
        norm = []
        if opts.type_is_id and raw_type:
            norm = [{"db_name": opts.type_is_id, "db_id": x} for x in raw_type.split("||") if x]
        etype = opts.entity_type if opts.type_is_id or not raw_type else raw_type
        ents.append({"id": eid, "type": etype, "text": parts, "offsets": [[s + shift, t + shift] for s, t in spans],
                     "normalized": norm})
        ids.add(eid)
    rels = []
    for i in sent.findall("interaction"):
        if i.get("e1") not in ids or i.get("e2") not in ids:
            raise DataError(f"{where}: interaction {i.get('id')} names an entity not in its sentence")
        rels.append({"id": i.get("id"), "type": opts.relation_type or i.get("type") or "interaction",
                     "arg1_id": i.get("e1"), "arg2_id": i.get("e2"), "normalized": []})
    return ents, rels


@register_reader(READER)
@options_model(PpiOptions)
def read_ppi_xml(root: Path, **options) -> Iterator[dict]:
    """kb records per document or sentence of each split's PPI XML file."""
    opts = parse_options(PpiOptions, READER, options)
    for split, rel in opts.files.items():
        path = Path(root) / rel
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        for doc in parse_xml(path).iter("document"):
            doc_id = doc.get("origId") or doc.get("PMID") or doc.get("origID") or doc.get("id")
            sents = doc.findall("sentence")
            if opts.unit == "sentence":
                for sent in sents:
                    text = sent.get("text") or ""
                    ents, rels = sentence_annotations(sent, opts, 0, f"{path}: sentence {sent.get('id')}")
                    yield new_record("kb", id=f"{split}-{sent.get('id')}", document_id=doc_id, dataset=opts.dataset,
                                     split=split, lang=opts.lang, passages=make_passages([("sentence", text)]),
                                     entities=ents, relations=rels)
                continue
            passages = make_passages([("sentence", s.get("text") or "") for s in sents])
            ents, rels = [], []
            for sent, p in zip(sents, passages):
                e, r = sentence_annotations(sent, opts, p["offsets"][0][0], f"{path}: sentence {sent.get('id')}")
                ents += e
                rels += r
            yield new_record("kb", id=f"{split}-{doc.get('id')}", document_id=doc_id, dataset=opts.dataset,
                             split=split, lang=opts.lang, passages=passages, entities=ents, relations=rels)
