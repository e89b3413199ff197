"""What every task shares: the Instruction record, templates-as-data loading, ParseError.

A task (registered with ``@register_task`` in ``tasks/registry.py``) has:
  examples(record, rng, info, mode="train") -> list[Instruction]
      the prompts one corpus record yields (incl. decomposed variants). ``info`` is the dataset's
      ``corpus/<dataset>/meta.json`` (its catalog entry: lang, tasks, label_names, ...). ``mode="eval"``
      yields the evaluation form (deterministic template choice given rng, all-types variant).
  render(target, meta, phrasing=None) -> str
      the answer text; ``phrasing`` indexes the template file's answer phrasings (None: meta["phrasing"]).
  parse(text, meta) -> target
      the structure back from any phrasing and from sloppy model output. Text that cannot be read as an
      answer at all raises ``ParseError``; evaluation counts it as a parse failure (scored wrong), never crashes.
Scoring is not the task's: its ``metrics`` name entries of the metric registry (``taiyi.evaluate.metrics``).
Invariant (tested on every real dataset): parse(render(t, meta, k), meta) == t for every phrasing k.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


class ParseError(ValueError):
    """A model answer that cannot be read as the task's structure."""


@dataclass
class Instruction:
    id: str
    dataset: str
    task: str
    lang: str
    template_id: str
    messages: list[dict]
    target: Any
    document_id: str
    meta: dict = field(default_factory=dict)

    @classmethod
    def for_record(cls, record: dict, task: str, prompt: dict, *, lang: str, target: Any, meta: dict,
                   user: str | None = None, answer: str | None = None, messages: list[dict] | None = None,
                   variant: Any = None) -> "Instruction":
        """An instruction made from one corpus record with one template ``prompt``: a user/assistant pair (or the
        given ``messages``), id ``<dataset>/<record id>/<task>[/<variant>]``, the record's document id."""
        if messages is None:
            messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        rid = f"{record['dataset']}/{record['id']}/{task}" + ("" if variant is None else f"/{variant}")
        return cls(id=rid, dataset=record["dataset"], task=task, lang=lang, template_id=prompt["id"],
                   messages=messages, target=target, document_id=record["document_id"], meta=meta)

    def to_record(self, *, stage: str | None = None, with_target: bool = False) -> dict:
        rec = asdict(self)
        if stage is not None:
            rec["stage"] = stage
        if not with_target:
            rec.pop("target")
        return rec


@dataclass(frozen=True)
class Templates:
    """One ``templates/<task>.<lang>.yaml``: prompts (id + text with {placeholders}), answer phrasings, empty answers."""

    task: str
    lang: str
    prompts: tuple[dict, ...]
    answers: Any
    empty: tuple[str, ...]
    raw: dict

    def prompt(self, rng) -> dict:
        return self.prompts[rng.randrange(len(self.prompts))]


def load_templates(task: str, lang: str) -> Templates:
    """``<templates_dir>/<task>.<lang>.yaml`` of a registered task (checked; cached)."""
    from taiyi.instructions.tasks.registry import get_task

    return _load_templates(task, lang, get_task(task).templates_dir)


@functools.cache
def _load_templates(task: str, lang: str, folder: Path) -> Templates:
    path = Path(folder) / f"{task}.{lang}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no templates for task {task!r} language {lang!r}: {path} is missing") from None
    for key in ("prompts", "answers", "empty"):
        if key not in raw:
            raise ValueError(f"{path}: missing key {key!r}")
    prompts = tuple(raw["prompts"])
    for p in prompts:
        if not {"id", "text"} <= set(p):
            raise ValueError(f"{path}: prompt {p!r} needs 'id' and 'text'")
    ids = [p["id"] for p in prompts]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate prompt ids")
    empty = raw["empty"]
    return Templates(task, lang, prompts, raw["answers"], tuple(empty if isinstance(empty, list) else [empty]), raw)
