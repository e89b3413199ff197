"""Token-level votes of several annotators (PICO, Zlabinger et al. 2020) -> kb entity spans by majority.

Why: the expert PICO annotation is a JSON file of sentences (``{id: text}``, tokens separated by single spaces)
and one JSON file per entity type holding, per sentence, each annotator's 0/1 vote per token
(``{id: {"annotations": [[0, 1, ...], ...]}}``). A token is in an entity when at least ``min_votes`` annotators
marked it (default: a strict majority, as the dataset's authors aggregate); a maximal run of such tokens is one
entity, its offsets those of the tokens in the sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from pydantic import Field

from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError
from taiyi.sources.fieldmap import StrictOptions, options_model, parse_options
from taiyi.sources.registry import register_reader
from taiyi.sources.textfile import read_text

READER = "token_votes"


class TokenVoteOptions(StrictOptions):
    texts: str = Field(description="JSON object: sentence id -> text (tokens separated by single spaces)")
    annotations: dict[str, str] = Field(description="entity type -> JSON file of per-annotator token votes")
    split: str = "train"
    min_votes: int | None = Field(None, ge=1)  # default: more than half of the annotators
    dataset: str = ""
    lang: str = "en"


def _load(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object keyed by sentence id")
    return data


def vote_spans(tokens: list[str], votes: list[list[int]], min_votes: int | None) -> list[tuple[int, int]]:
    """(first, last+1) token index runs that enough annotators marked."""
    need = min_votes if min_votes is not None else len(votes) // 2 + 1
    marked = [sum(col) >= need for col in zip(*votes)] if votes else [False] * len(tokens)
    runs, start = [], None
    for i, m in enumerate(marked + [False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i))
            start = None
    return runs


@register_reader(READER)
@options_model(TokenVoteOptions)
def read_token_votes(root: Path, **options) -> Iterator[dict]:
    """One kb record per sentence, entities typed by the annotation file they come from."""
    opts = parse_options(TokenVoteOptions, READER, options)
    root = Path(root)
    texts = _load(root / opts.texts)
    by_type = {etype: (root / rel, _load(root / rel)) for etype, rel in opts.annotations.items()}
    for sid, text in texts.items():
        tokens = text.split(" ")
        starts = [sum(len(t) + 1 for t in tokens[:i]) for i in range(len(tokens))]
        ents = []
        for etype, (path, ann) in by_type.items():
            if sid not in ann:
                raise DataError(f"{path}: no votes for sentence {sid}")
            votes = ann[sid].get("annotations") if isinstance(ann[sid], dict) else None
            if not isinstance(votes, list) or any(len(v) != len(tokens) for v in votes):
                raise DataError(f"{path}: sentence {sid}: votes must be lists of {len(tokens)} token marks")
            for a, b in vote_spans(tokens, votes, opts.min_votes):
                s, e = starts[a], starts[b - 1] + len(tokens[b - 1])
                ents.append({"id": f"{sid}_{etype}_{len(ents) + 1}", "type": etype, "text": [text[s:e]],
                             "offsets": [[s, e]], "normalized": []})
        yield new_record("kb", id=f"{opts.split}-{sid}", document_id=sid.split(":")[0], dataset=opts.dataset, split=opts.split,
                         lang=opts.lang, passages=make_passages([("sentence", text)]), entities=ents)
