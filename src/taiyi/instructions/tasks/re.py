"""Relation extraction codec: kb records -> "which <relation> pairs does this text state" prompts and back.

Why: RE benchmarks in the paper (BC5CDR CID, ChemProt CPR groups, BioRED, CMeIE predicates) all reduce to
naming (relation, head, tail) triples by their entity texts. Each document yields one all-relation-types
prompt and, by task decomposition, one prompt per relation type present (plus now and then an absent one).

Target: ``[[type, head, tail], ...]`` sorted unique; ``type`` is the raw relation label, head/tail are the
texts of the relation's arg1/arg2 entities (discontinuous parts joined by one space, whitespace collapsed,
as in the ner codec). ``meta``: ``lang``, ``phrasing``, ``types`` ([[raw, display], ...] offered).
"""

from __future__ import annotations

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.ner import mention_text
from taiyi.instructions.tasks.labels import kb_label_kinds
from taiyi.instructions.tasks.typed_codec import TypedListCodec, keep_typed
from taiyi.text import record_lang

TASK = "re"
CODEC = TypedListCodec(TASK, ("head", "tail"), "relation list", absent_type_prob=0.3)


def gold_target(record: dict) -> list[list[str]]:
    ents = {e["id"]: mention_text(e) for e in record.get("entities", [])}
    out = set()
    for r in record.get("relations", []):
        h, t = ents.get(r["arg1_id"]), ents.get(r["arg2_id"])
        if h and t:
            out.add((str(r["type"]), h, t))
    return [list(x) for x in sorted(out)]


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "kb":
        return []
    text = document_text(record).strip()
    all_types = kb_label_kinds(info, record)[1]
    if not text or not all_types:
        return []
    lang = record_lang(record, info)
    target = gold_target(record)
    return CODEC.examples(record, rng, info, lang=lang, text=text, target=target, all_types=all_types, mode=mode)


render = CODEC.render  # (target, meta, phrasing=None) -> answer text
parse = CODEC.parse  # (text, meta) -> [[type, ...], ...]; ParseError when unreadable


@register_task(TASK)
class ReTask(Task):
    """Relation triples scored per document (strict and argument-grounded micro-F1)."""

    unit = "document"
    window_long_documents = True
    stage = 1
    max_new_tokens = 512
    metrics = ("micro_f1", "grounded_f1")
    types_key = "relation_types"

    def restrict(self, record: dict, keep) -> dict:
        """Only the relations of the benchmark's types (renamed)."""
        if record.get("schema") != "kb":
            return record
        record["relations"] = keep_typed(record.get("relations", []), keep)
        return record
