"""brat standoff (``<doc>.txt`` + ``<doc>.ann``) -> kb records.

Why: JNLPBA's official training data (and many BioNLP shared-task corpora) ship as brat standoff. Text-bound
annotations (T, possibly discontinuous ``s e;s e``), relations (R), events (E), normalisations (N) and
equivalence sets (*) are read; attributes (A/M) and notes (#) are ignored. The document is the .txt as
one passage, so brat offsets are used unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines, read_text


def parse_ann(ann: Path, text: str, doc_id: str) -> dict:
    """The annotations of one .ann file as kb fields (entities, relations, events, coreferences)."""
    ents, rels, events, corefs = [], [], [], []
    by_id: dict[str, dict] = {}
    norms: list[tuple[int, str, str]] = []
    for no, line in enumerate(read_lines(ann), 1):
        if not line.strip() or line[0] in "AM#":
            continue
        fields = line.split("\t")
        kind = fields[0][:1]
        try:
            if kind == "T":
                ann_id, (head, mention) = fields[0], fields[1:3]
                etype, _, spans = head.partition(" ")
                offsets = [[int(a), int(b)] for a, b in (s.split() for s in spans.split(";"))]
                texts = [text[s:e] for s, e in offsets]
                if any(not (0 <= s <= e <= len(text)) for s, e in offsets) or " ".join(texts) != mention:
                    raise DataError(f"{ann}:{no}: span {spans} gives {' '.join(texts)!r}, not {mention!r}")
                ent = {"id": ann_id, "type": etype, "text": texts, "offsets": offsets, "normalized": []}
                ents.append(ent)
                by_id[ann_id] = ent
            elif kind == "R":
                rtype, a1, a2 = fields[1].split()
                rels.append({"id": fields[0], "type": rtype, "arg1_id": a1.split(":", 1)[1],
                             "arg2_id": a2.split(":", 1)[1], "normalized": []})
            elif kind == "E":
                parts = fields[1].split()
                etype, trig = parts[0].split(":")
                t = by_id.get(trig)
                if t is None:
                    raise DataError(f"{ann}:{no}: event trigger {trig} is not a text-bound annotation defined above")
                args = [{"role": r.split(":")[0].rstrip("0123456789"), "ref_id": r.split(":")[1]} for r in parts[1:]]
                events.append({"id": fields[0], "type": etype, "trigger": {"text": t["text"], "offsets": t["offsets"]},
                               "arguments": args})
            elif kind == "N":
                _, target, ref = fields[1].split()
                norms.append((no, target, ref))
            elif kind == "*":
                _, *members = fields[1].split()
                corefs.append({"id": f"{doc_id}_coref{len(corefs) + 1}", "entity_ids": members})
            else:
                raise DataError(f"{ann}:{no}: unknown annotation kind {fields[0]!r}")
        except DataError:
            raise
        except (ValueError, IndexError):
            raise DataError(f"{ann}:{no}: malformed brat line {line[:80]!r}") from None
    for no, target, ref in norms:
        if target not in by_id:
            raise DataError(f"{ann}:{no}: normalisation of unknown annotation {target}")
        db, _, db_id = ref.partition(":")
        by_id[target]["normalized"].append({"db_name": db, "db_id": db_id})
    return {"entities": ents, "relations": rels, "events": events, "coreferences": corefs}


@register_reader("brat")
def read_brat(root: Path, *, dirs: dict[str, str], passage_type: str = "abstract", dataset: str = "",
              lang: str = "en") -> Iterator[dict]:
    """brat folders, one per split (``dirs: {split: relative folder}``); every .txt needs its .ann."""
    for split, rel in dirs.items():
        folder = Path(root) / rel
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} not found")
        txts = sorted(folder.glob("*.txt"))
        if not txts:
            raise FileNotFoundError(f"no .txt files in {folder}")
        for txt in txts:
            ann = txt.with_suffix(".ann")
            if not ann.is_file():
                raise DataError(f"{txt}: annotation file {ann.name} is missing")
            text = read_text(txt)
            doc_id = txt.stem
            # id carries the split: JNLPBA's official test repeats 10 training abstracts verbatim
            rec = new_record("kb", id=f"{split}_{doc_id}", document_id=doc_id, dataset=dataset, split=split, lang=lang,
                             passages=[{"id": "0", "type": passage_type, "text": [text], "offsets": [[0, len(text)]]}])
            rec.update(parse_ann(ann, text, doc_id))
            yield rec
