"""brat standoff (``<doc>.txt`` + ``<doc>.ann``) -> kb records; the parser is shared with BioNLP-ST (.a1/.a2).

Why: JNLPBA, AnatEM, AnEM, SETH, Verspoor 2013 and the BioNLP shared tasks ship as brat standoff. Text-bound
annotations (T, possibly discontinuous ``s e;s e``), relations (R), events (E), normalisations (N) and
equivalence sets (*) are read; attributes and modifiers (A/M: Negation, Speculation, ...) and notes (#) are
dropped, since the kb schema's events carry no attributes. A T that only serves as an event trigger is not an
entity: its event carries it. The document is the .txt as one passage, so brat offsets are used unchanged.

Layouts: one folder per split (``dirs``); annotations in another folder (``ann_dirs``, Verspoor/SETH); one
folder cut into splits by document-id lists (``split_lists``, AnEM); texts as ``id<TAB>text`` lines of one
file (``text_file``, SETH).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines, read_text

IGNORED_KINDS = "AM#"
_WS = re.compile(r"\s")


def mention_matches(texts: list[str], mention: str, covered: str = "") -> bool:
    """Whether a T line's mention is its fragments' text. Why more than one rule: brat joins discontinuous
    fragments with one space, other tools with nothing or with the text between them (``covered``), and a
    line break or tab inside a span is written as a space. Every character must still match (under the
    last rule, where inner fragment boundaries are not visible, only the outer ones are checked)."""
    frags = [_WS.sub(" ", t) for t in texts]
    return _WS.sub(" ", mention) in (" ".join(frags), "".join(frags), _WS.sub(" ", covered))


def parse_standoff(files: Iterable[Path], text: str, doc_id: str, *, events: bool = True, text_name: str = "") -> dict:
    """The annotations of one document's standoff files (.ann, or .a1 + .a2/.rel) as kb fields.

    Ids must be unique across the files. ``events=False`` ignores E lines (SETH marks some mentions as
    argument-less events whose triggers are also its entities)."""
    tbs: dict[str, tuple[dict, str]] = {}  # T id -> (span, where defined)
    rels, evs, corefs = [], [], []
    norms: list[tuple[str, str, str]] = []
    refs: list[tuple[str, str]] = []  # (referenced id, where), checked once every id is known
    for path in files:
        for no, line in enumerate(read_lines(path), 1):
            if not line.strip() or line[0] in IGNORED_KINDS or (line[0] == "E" and not events):
                continue
            where = f"{path}:{no}"
            fields = line.split("\t")
            kind = fields[0][:1]
            try:
                if kind == "T":
                    ann_id, (head, mention) = fields[0], fields[1:3]
                    etype, _, spans = head.partition(" ")
                    offsets = [[int(a), int(b)] for a, b in (s.split() for s in spans.split(";"))]
                    texts = [text[s:e] for s, e in offsets]
                    covered = text[offsets[0][0]:offsets[-1][1]]
                    if any(not (0 <= s <= e <= len(text)) for s, e in offsets) or not mention_matches(texts, mention, covered):
                        raise DataError(f"{where}: span {spans} gives {' '.join(texts)!r}, not {mention!r}"
                                        f"{' (text: ' + text_name + ')' if text_name else ''}")
                    if ann_id in tbs:
                        raise DataError(f"{where}: id {ann_id} already defined at {tbs[ann_id][1]}")
                    tbs[ann_id] = ({"id": ann_id, "type": etype, "text": texts, "offsets": offsets,
                                    "normalized": []}, where)
                elif kind == "R":
                    rtype, a1, a2 = fields[1].split()
                    rel = {"id": fields[0], "type": rtype, "arg1_id": a1.split(":", 1)[1],
                           "arg2_id": a2.split(":", 1)[1], "normalized": []}
                    rels.append(rel)
                    refs += [(rel["arg1_id"], where), (rel["arg2_id"], where)]
                elif kind == "E":
                    parts = fields[1].split()
                    etype, trig = parts[0].split(":")
                    # numbered roles (Theme2, Site2) are further arguments of the same role; order keeps pairs
                    args = [{"role": r.split(":")[0].rstrip("0123456789"), "ref_id": r.split(":")[1]} for r in parts[1:]]
                    evs.append(({"id": fields[0], "type": etype, "trigger": trig, "arguments": args}, where))
                    refs += [(a["ref_id"], where) for a in args]
                elif kind == "N":  # brat: 'Reference T1 db:id'; BioNLP-OST: 'NCBI_Taxonomy Annotation:T1 Referent:id'
                    ntype, target, ref = fields[1].split()[:3]
                    if target.startswith("Annotation:") and ref.startswith("Referent:"):
                        target, ref = target[len("Annotation:"):], f"{ntype}:{ref[len('Referent:'):]}"
                    norms.append((target, ref, where))
                elif kind == "*":
                    _, *members = fields[1].split()
                    corefs.append({"id": f"{doc_id}_coref{len(corefs) + 1}", "entity_ids": members})
                    refs += [(m, where) for m in members]
                else:
                    raise DataError(f"{where}: unknown annotation kind {fields[0]!r}")
            except DataError:
                raise
            except (ValueError, IndexError):
                raise DataError(f"{where}: malformed standoff line {line[:80]!r}") from None
    return _resolve(tbs, rels, evs, corefs, norms, refs)


def _resolve(tbs: dict, rels: list, evs: list, corefs: list, norms: list, refs: list) -> dict:
    """Triggers into their events, normalisations onto entities, every reference checked."""
    known = set(tbs) | {ev["id"] for ev, _ in evs}
    for ref, where in refs:
        if ref not in known:
            raise DataError(f"{where}: refers to {ref}, which no T or E line defines")
    events, trigger_ids = [], set()
    for ev, where in evs:
        trig = tbs.get(ev["trigger"])
        if trig is None:
            raise DataError(f"{where}: event trigger {ev['trigger']} is not a text-bound annotation")
        trigger_ids.add(ev["trigger"])
        events.append({**ev, "trigger": {"text": trig[0]["text"], "offsets": trig[0]["offsets"]}})
    for target, ref, where in norms:
        if target not in tbs:
            raise DataError(f"{where}: normalisation of unknown annotation {target}")
        db, _, db_id = ref.partition(":")
        tbs[target][0]["normalized"].append({"db_name": db, "db_id": db_id})
    referenced = {ref for ref, _ in refs} | {t for t, _, _ in norms}
    ents = [e for tid, (e, _) in tbs.items() if tid not in trigger_ids or tid in referenced]
    return {"entities": ents, "relations": rels, "events": events, "coreferences": corefs}


def parse_ann(ann: Path, text: str, doc_id: str) -> dict:
    """The annotations of one .ann file as kb fields (entities, relations, events, coreferences)."""
    return parse_standoff([ann], text, doc_id)


def kb_document(split: str, doc_id: str, text: str, passage_type: str, dataset: str, lang: str) -> dict:
    """A kb record of one document, its text as one passage. The id carries the split: JNLPBA's official test
    repeats 10 training abstracts verbatim."""
    return new_record("kb", id=f"{split}_{doc_id}", document_id=doc_id, dataset=dataset, split=split, lang=lang,
                      passages=[{"id": "0", "type": passage_type, "text": [text], "offsets": [[0, len(text)]]}])


def read_id_list(path: Path) -> list[str]:
    """Document ids, one a line (file names allowed: a trailing .txt/.ann is cut)."""
    ids = [ln.strip() for ln in read_lines(path) if ln.strip()]
    return [i[:-4] if i.endswith((".txt", ".ann")) else i for i in ids]


def _texts_from_file(path: Path) -> dict[str, str]:
    """``id<TAB>text`` lines (SETH's corpus.txt)."""
    out: dict[str, str] = {}
    for no, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        doc_id, tab, text = line.partition("\t")
        if not tab:
            raise DataError(f"{path}:{no}: expected 'id<TAB>text'")
        if doc_id in out:
            raise DataError(f"{path}:{no}: document {doc_id} appears twice")
        out[doc_id] = text
    return out


@register_reader("brat")
def read_brat(root: Path, *, dirs: dict[str, str] | str, ann_dirs: dict[str, str] | str | None = None,
              split_lists: dict[str, str] | None = None, text_file: str | None = None, events: bool = True,
              passage_type: str = "abstract", dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """brat documents by split.

    ``dirs``: ``{split: folder}`` of .txt (and .ann) files, or one folder for every split of ``split_lists``
    (``{split: file of document ids}``). ``ann_dirs``: where the .ann files are when not beside the texts.
    ``text_file``: texts as ``id<TAB>text`` lines instead of .txt files (``dirs`` then names the .ann folders).
    Every document needs its .ann; ``events: false`` ignores E lines."""
    root = Path(root)
    splits = list(split_lists) if split_lists else list(dirs) if isinstance(dirs, dict) else []
    if not splits:
        raise ValueError("brat: `dirs` must map split -> folder unless `split_lists` names the splits")
    texts = _texts_from_file(root / text_file) if text_file else None
    for split in splits:
        folder = root / (dirs if isinstance(dirs, str) else dirs[split])
        ann_folder = root / (ann_dirs if isinstance(ann_dirs, str) else ann_dirs[split]) if ann_dirs else folder
        for f in (folder, ann_folder):
            if not f.is_dir():
                raise FileNotFoundError(f"{f} not found")
        if split_lists:
            doc_ids = read_id_list(root / split_lists[split])
        elif texts is not None:
            doc_ids = sorted(p.stem for p in ann_folder.glob("*.ann"))
        else:
            doc_ids = sorted(p.stem for p in folder.glob("*.txt"))
        if not doc_ids:
            raise FileNotFoundError(f"no documents in {folder}")
        if not split_lists and texts is None:  # an annotation file whose text is gone is a damaged copy
            orphans = sorted({p.stem for p in ann_folder.glob("*.ann")} - set(doc_ids))
            if orphans:
                raise DataError(f"{ann_folder / orphans[0]}.ann: its text {orphans[0]}.txt is missing from {folder} "
                                f"({len(orphans)} such)")
        for doc_id in doc_ids:
            ann = ann_folder / f"{doc_id}.ann"
            if texts is not None:
                if doc_id not in texts:
                    raise DataError(f"{ann}: document {doc_id} is not in {root / text_file}")
                text = texts[doc_id]
            else:
                text = read_text(folder / f"{doc_id}.txt")
            if not ann.is_file():
                raise DataError(f"{folder / doc_id}.txt: annotation file {ann.name} is missing")
            rec = kb_document(split, doc_id, text, passage_type, dataset, lang)
            rec.update(parse_standoff([ann], text, doc_id, events=events,
                                      text_name=text_file if texts is not None else f"{doc_id}.txt"))
            yield rec
