"""BioNLP shared-task standoff (``<doc>.txt`` + ``.a1`` given entities + ``.a2`` or ``.rel`` gold) -> kb records.

Why: the GENIA-family shared tasks (2009; 2011 GE, EPI, ID, REL; 2013 GE, CG, GRO) keep the given entities
(proteins) and the gold annotation in separate files, and withhold the test gold. Entities come from the
.a1 and from .a2 T lines that are not only triggers (sites, anaphora); events keep their trigger, type and
role-labelled arguments, whose ``ref_id`` names an entity or (nested) another event; ``*`` Equiv sets are
coreferences; R lines relations; N lines entity db ids. M modifiers (Negation, Speculation) are dropped:
the kb schema's events have no attributes (see ``parse_standoff``).

A split whose gold is withheld is named ``test_unlabelled`` (house convention): its records carry the
given .a1 entities and no events; a gold file found there is an error, as is one missing elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from taiyi.files import DataError
from taiyi.sources.readers.brat import kb_document, parse_standoff
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

UNLABELLED = "test_unlabelled"


@register_reader("bionlp_st")
def read_bionlp_st(root: Path, *, dirs: dict[str, str], gold: str = ".a2", passage_type: str = "abstract",
                   dataset: str = "", lang: str = "en") -> Iterator[dict]:
    """``dirs``: ``{split: folder}``; ``gold``: the gold file's suffix (``.a2``; ``.rel`` for 2011 REL).

    Every .txt needs its .a1; every one outside ``test_unlabelled`` needs its gold file."""
    if not gold.startswith("."):
        raise ValueError(f"bionlp_st: gold suffix {gold!r} must start with '.' (e.g. '.a2', '.rel')")
    for split, rel in dirs.items():
        folder = Path(root) / rel
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} not found")
        txts = sorted(folder.glob("*.txt"))
        if not txts:
            raise FileNotFoundError(f"no .txt files in {folder}")
        orphans = sorted({p.stem for p in folder.glob("*.a1")} - {t.stem for t in txts})
        if orphans:  # an annotation file whose text is gone is a damaged copy
            raise DataError(f"{folder / orphans[0]}.a1: its text {orphans[0]}.txt is missing ({len(orphans)} such)")
        for txt in txts:
            a1, a2 = txt.with_suffix(".a1"), txt.with_suffix(gold)
            if not a1.is_file():
                raise DataError(f"{txt}: given-entity file {a1.name} is missing")
            if split == UNLABELLED and a2.is_file():
                raise DataError(f"{a2}: split {UNLABELLED} has gold annotation; name the split train/dev/test")
            if split != UNLABELLED and not a2.is_file():
                raise DataError(f"{txt}: gold file {a2.name} is missing (a split without gold is {UNLABELLED!r})")
            text = read_text(txt)
            rec = kb_document(split, txt.stem, text, passage_type, dataset, lang)
            rec.update(parse_standoff([a1] if split == UNLABELLED else [a1, a2], text, txt.stem, text_name=txt.name))
            yield rec
