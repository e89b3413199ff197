"""DiaKG (diabetes guidelines, Chinese) JSON -> kb records of entities and relations.

Why: DiaKG ships one JSON per guideline, ``doc_id`` -> ``paragraphs[{paragraph, sentences[{sentence, start_idx,
end_idx, entities[{entity_id, entity, entity_type, start_idx, end_idx}], relations[{relation_type,
head_entity_id, tail_entity_id}]}]}]``: sentence offsets are paragraph-relative, entity offsets
sentence-relative (end exclusive). A record is a paragraph (``unit: paragraph``, entity offsets moved into the
paragraph text) or a sentence. Every offset is checked against the text it indexes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Literal, Union

from pydantic import Field

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.fieldmap import StrictOptions, options_model, parse_options
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

READER = "diakg"


class DiakgOptions(StrictOptions):
    files: dict[str, Union[str, list[str]]] = Field(description="split -> DiaKG JSON file(s), one document each")
    unit: Literal["paragraph", "sentence"] = "paragraph"
    dataset: str = ""
    lang: str = "zh"


def _sentence(sent: dict, shift: int, where: str) -> tuple[list, list]:
    text = sent["sentence"]
    ents, ids = [], {}
    for e in sent.get("entities", []):
        s, t = e["start_idx"], e["end_idx"]
        if text[s:t] != e["entity"]:
            raise DataError(f"{where}: entity {e['entity_id']} [{s},{t}] gives {text[s:t]!r}, not {e['entity']!r}")
        ids[e["entity_id"]] = e["entity_id"]  # unique within a document
        ents.append({"id": e["entity_id"], "type": e["entity_type"], "text": [e["entity"]],
                     "offsets": [[s + shift, t + shift]], "normalized": []})
    rels = []
    for r in sent.get("relations", []):
        if r["head_entity_id"] not in ids or r["tail_entity_id"] not in ids:
            raise DataError(f"{where}: relation {r.get('relation_id')} names an entity not in its sentence")
        rels.append({"id": r.get("relation_id") or f"{sent['sentence_id']}-R{len(rels)}", "type": r["relation_type"],
                     "arg1_id": ids[r["head_entity_id"]], "arg2_id": ids[r["tail_entity_id"]], "normalized": []})
    return ents, rels


def _document(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paragraphs"), list):
        raise DataError(f"{path}: expected a DiaKG document {{doc_id, paragraphs: [...]}}")
    return doc


@register_reader(READER)
@options_model(DiakgOptions)
def read_diakg(root: Path, **options) -> Iterator[dict]:
    """kb records per paragraph (or sentence) of each split's DiaKG document(s)."""
    opts = parse_options(DiakgOptions, READER, options)
    for split, rel in opts.files.items():
        for path in [Path(root) / r for r in ([rel] if isinstance(rel, str) else rel)]:
            doc = _document(path)
            did = str(doc.get("doc_id", path.stem))
            for p in doc["paragraphs"]:
                pid, ptext = f"{did}-{p['paragraph_id']}", p["paragraph"]
                ents, rels = [], []
                try:
                    for s in p["sentences"]:
                        where = f"{path}: paragraph {p['paragraph_id']} sentence {s['sentence_id']}"
                        if ptext[s["start_idx"]:s["end_idx"]] != s["sentence"]:
                            raise DataError(f"{where}: [{s['start_idx']},{s['end_idx']}] of the paragraph is not "
                                            f"the sentence")
                        if opts.unit == "sentence":
                            e, r = _sentence(s, 0, where)
                            yield new_record("kb", id=f"{split}-{pid}-{s['sentence_id']}", document_id=did,
                                             dataset=opts.dataset, split=split, lang=opts.lang, entities=e,
                                             relations=r, passages=make_passages([("sentence", s["sentence"])]))
                        else:
                            e, r = _sentence(s, s["start_idx"], where)
                            ents += e
                            rels += r
                except KeyError as exc:
                    raise DataError(f"{path}: paragraph {p.get('paragraph_id')}: missing key {exc}") from None
                if opts.unit == "paragraph":
                    yield new_record("kb", id=f"{split}-{pid}", document_id=did, dataset=opts.dataset, split=split,
                                     lang=opts.lang, passages=make_passages([("paragraph", ptext)]), entities=ents,
                                     relations=rels)
