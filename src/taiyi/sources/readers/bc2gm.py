"""BioCreative II Gene Mention original files (``train.in`` + ``GENE.eval``) -> kb records.

Why: BC2GM's official release gives sentences as ``ID<space>text`` and mentions as ``ID|start end|text``
where offsets count **non-space characters** and the end is inclusive (the BC2 convention). We map them
back to character offsets into the sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines


def _locate(nonspace: str, mention: str, a: int, b: int, window: int) -> tuple[int, int]:
    """(a, b) if the mention is there, else the nearest exact match within ``window`` characters, else (-1, -1).

    The official train GENE.eval has a few off-by-one spans (e.g. P02196565T0000 'translation upstream
    factor' at 162 instead of 163); a small window repairs them without guessing further.
    """
    if nonspace[a:b + 1] == mention:
        return a, b
    for d in sorted(range(-window, window + 1), key=abs):
        if d and 0 <= a + d and nonspace[a + d:a + d + len(mention)] == mention:
            return a + d, a + d + len(mention) - 1
    return -1, -1


def nonspace_index(text: str) -> list[int]:
    """Character position of the k-th non-space character."""
    return [i for i, ch in enumerate(text) if ch != " "]


@register_reader("bc2gm")
def read_bc2gm(root: Path, *, files: dict[str, list[str]], entity_type: str = "GENE", repair_window: int = 2, dataset: str = "",
               lang: str = "en") -> Iterator[dict]:
    """``files: {split: [sentences.in, GENE.eval]}``; one record per sentence.

    ``repair_window``: how far (in non-space characters) a span may be off before it is an error (0 = strict).
    """
    for split, (sent_rel, eval_rel) in files.items():
        sent_path, eval_path = Path(root) / sent_rel, Path(root) / eval_rel
        sentences: dict[str, str] = {}
        for no, line in enumerate(read_lines(sent_path), 1):
            if not line.strip():
                continue
            sid, sep, text = line.partition(" ")
            if not sep:
                raise DataError(f"{sent_path}:{no}: expected 'SENTENCE_ID text', got {line[:60]!r}")
            if sid in sentences:
                raise DataError(f"{sent_path}:{no}: sentence id {sid} repeated")
            sentences[sid] = text
        mentions: dict[str, list[dict]] = {sid: [] for sid in sentences}
        index = {sid: nonspace_index(t) for sid, t in sentences.items()}
        for no, line in enumerate(read_lines(eval_path), 1):
            if not line.strip():
                continue
            try:
                sid, span, mention = line.split("|", 2)
                a, b = (int(x) for x in span.split())
            except ValueError:
                raise DataError(f"{eval_path}:{no}: expected 'ID|start end|mention', got {line[:60]!r}") from None
            if sid not in sentences:
                raise DataError(f"{eval_path}:{no}: sentence {sid} is not in {sent_path.name}")
            idx, text = index[sid], sentences[sid]
            if not (0 <= a <= b < len(idx)):
                raise DataError(f"{eval_path}:{no}: non-space offsets {a} {b} outside sentence {sid}")
            a, b = _locate(sentences[sid].replace(" ", ""), mention.replace(" ", ""), a, b, repair_window)
            if a < 0:
                raise DataError(f"{eval_path}:{no}: non-space offsets {span!r} do not give {mention!r} in sentence {sid}")
            s, e = idx[a], idx[b] + 1
            ents = mentions[sid]
            ents.append({"id": f"T{len(ents) + 1}", "type": entity_type, "text": [text[s:e]], "offsets": [[s, e]],
                         "normalized": []})
        for sid, text in sentences.items():
            yield new_record("kb", id=sid, document_id=sid, dataset=dataset, split=split, lang=lang,
                             passages=[{"id": "0", "type": "sentence", "text": [text], "offsets": [[0, len(text)]]}],
                             entities=mentions[sid])
