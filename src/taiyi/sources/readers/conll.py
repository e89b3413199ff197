"""IOB / CoNLL token files (``token<TAB>tag``, blank line between sentences) -> kb records.

Why: the BLUE/BLURB versions of BC2GM, BC5CDR, NCBI-disease and JNLPBA (and JNLPBA's official .iob2 test)
are token-per-line files. Tokens are joined with one space into the sentence text; entity offsets index
into that text. IOB1 (an I- tag that opens an entity) and IOB2 are both read; untyped B/I/O tags get
``default_type``. ``-DOCSTART-`` lines start a new document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines


def iter_sentences(path: Path) -> Iterator[tuple[int, str, list[tuple[str, str]]]]:
    """(first line number, document id, [(token, tag)]) per blank-line-separated block."""
    doc_id, block, start = "", [], 0
    for no, line in enumerate(read_lines(path), 1):
        if not line.strip():
            if block:
                yield start, doc_id, block
            block = []
            continue
        if line.startswith("-DOCSTART-"):
            if block:
                yield start, doc_id, block
            block = []
            rest = line[len("-DOCSTART-"):].split()
            doc_id = rest[0] if rest and rest[0] != "O" else f"doc{no}"
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 2 or not parts[0]:
            raise DataError(f"{path}:{no}: expected 'token<TAB>tag', got {line[:60]!r}")
        if not block:
            start = no
        block.append((parts[0], parts[-1]))
    if block:
        yield start, doc_id, block


def tags_to_entities(tokens: list[tuple[str, str]], default_type: str, where: str) -> tuple[str, list[dict]]:
    """Sentence text (tokens joined by one space) and its entities from IOB1/IOB2 tags."""
    text_parts, ents, pos = [], [], 0
    cur = None
    for i, (tok, tag) in enumerate(tokens):
        start, end = pos, pos + len(tok)
        text_parts.append(tok)
        pos = end + 1
        if tag == "O":
            cur = None
            continue
        prefix, _, etype = tag.partition("-")
        if prefix not in ("B", "I"):
            raise DataError(f"{where}: token {i + 1} {tok!r} has tag {tag!r}; expected O, B[-type] or I[-type]")
        etype = etype or default_type
        if prefix == "I" and cur is not None and cur["type"] == etype:
            cur["offsets"][0][1] = end
            continue
        cur = {"type": etype, "offsets": [[start, end]]}
        ents.append(cur)
    text = " ".join(text_parts)
    out = []
    for k, e in enumerate(ents, 1):
        s, t = e["offsets"][0]
        out.append({"id": f"T{k}", "type": e["type"], "text": [text[s:t]], "offsets": [[s, t]], "normalized": []})
    return text, out


@register_reader("conll")
def read_conll(root: Path, *, files: dict[str, str], default_type: str = "entity", passage_type: str = "sentence",
               dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """One record per sentence (``files: {split: relative path}``); ids are ``<split>-<n>``."""
    for split, rel in files.items():
        path = Path(root) / rel
        for n, (line, doc_id, tokens) in enumerate(iter_sentences(path), 1):
            text, ents = tags_to_entities(tokens, default_type, f"{path}:{line}")
            rid = f"{split}-{n}"
            yield new_record("kb", id=rid, document_id=doc_id or rid, dataset=dataset, split=split, lang=lang,
                             passages=[{"id": "0", "type": passage_type, "text": [text], "offsets": [[0, len(text)]]}],
                             entities=ents)
