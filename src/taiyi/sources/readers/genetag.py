"""GENETAG original release (``TOKENIZED_CORPUS`` + ``Gold.format``) -> kb records, one per sentence.

Why: GENETAG (the corpus BC2GM was cut from) gives each sentence as ``@@id tok/TAG tok/TAG ...`` and each gene
as ``@@id|first last|mention`` with 0-based, inclusive *token* indices. The sentence text is its tokens joined
by one space. Four of the 17,871 gold rows disagree with their own indices (``CREB / ATF proteins`` at one
token, ``il-2 receptor`` for ``IL-2 receptor``, ``SAP`` for the token ``SAPK``); the rule, in order: the
indices when their tokens spell the mention; else the token window spelling it (case aside) nearest to the
given start; else the given indices. One gold line lacks its second ``|``; it is read all the same.
``Correct.Data`` (alternative boundaries accepted by the official scorer) is not used.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from taiyi.corpus.schema import new_record
from taiyi.files import DataError
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_lines

_GOLD = re.compile(r"^@@(\S+)\|(\d+) (\d+)\|?(.*)$")


def _sentences(path: Path) -> dict[str, tuple[int, list[str]]]:
    out: dict[str, tuple[int, list[str]]] = {}
    for no, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        head, _, rest = line.partition(" ")
        if not head.startswith("@@") or not rest.strip():
            raise DataError(f"{path}:{no}: expected '@@<id> token/TAG ...'")
        out[head[2:]] = (no, [t.rsplit("/", 1)[0] for t in rest.split(" ") if t])
    return out


def locate(tokens: list[str], first: int, last: int, mention: str) -> tuple[int, int]:
    """The token range of a gold row, by the rule in the module docstring."""
    if " ".join(tokens[first:last + 1]) == mention:
        return first, last
    n = len(mention.split())
    folded = mention.lower()
    wins = [i for i in range(len(tokens) - n + 1) if " ".join(tokens[i:i + n]).lower() == folded]
    if wins:
        i = min(wins, key=lambda w: abs(w - first))
        return i, i + n - 1
    return first, last


@register_reader("genetag")
def read_genetag(root: Path, *, dirs: dict[str, str], entity_type: str = "GENE", dataset: str = "",
                 lang: str = "en") -> Iterator[dict]:
    """``dirs``: ``{split: folder}`` holding ``TOKENIZED_CORPUS`` and ``Gold.format``."""
    for split, rel in dirs.items():
        folder = Path(root) / rel
        sents = _sentences(folder / "TOKENIZED_CORPUS")
        gold_path = folder / "Gold.format"
        genes: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
        for no, line in enumerate(read_lines(gold_path), 1):
            if not line.strip():
                continue
            m = _GOLD.match(line)
            if not m:
                raise DataError(f"{gold_path}:{no}: expected '@@<id>|<first> <last>|<mention>'")
            sid, first, last, mention = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            if sid not in sents:
                raise DataError(f"{gold_path}:{no}: sentence {sid} is not in TOKENIZED_CORPUS")
            if not 0 <= first <= last < len(sents[sid][1]):
                raise DataError(f"{gold_path}:{no}: tokens {first}-{last} outside sentence {sid} "
                                f"of {len(sents[sid][1])} tokens")
            genes[sid].append((no, first, last, mention))
        for sid, (_, tokens) in sents.items():
            starts, pos = [], 0
            for t in tokens:
                starts.append(pos)
                pos += len(t) + 1
            text = " ".join(tokens)
            ents = []
            for no, first, last, mention in genes.get(sid, []):
                a, b = locate(tokens, first, last, mention)
                s, e = starts[a], starts[b] + len(tokens[b])
                ents.append({"id": f"T{len(ents) + 1}", "type": entity_type, "text": [text[s:e]], "offsets": [[s, e]],
                             "normalized": []})
            yield new_record("kb", id=sid, document_id=sid, dataset=dataset, split=split, lang=lang, entities=ents,
                             passages=[{"id": "0", "type": "sentence", "text": [text], "offsets": [[0, len(text)]]}])
