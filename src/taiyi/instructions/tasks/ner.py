"""Named entity recognition codec: kb records -> "find the <types> in this text" prompts and back.

Why: NER is Taiyi's largest task family (CMeEE, BC5CDR, NCBI-disease, BC2GM, JNLPBA, BioRED, ...). Each
document yields one all-types prompt and, by task decomposition, one prompt per entity type (plus an
absent type now and then, whose answer is the empty answer), so the model learns to list one type on demand.

Target: ``[[type, mention], ...]`` sorted unique over the document; ``type`` is the raw corpus label, the
mention is the entity text with discontinuous parts joined by one space and whitespace runs collapsed
(the canonical form both gold and predictions are compared in). The prompt holds the whole document text.
``meta``: ``lang``, ``phrasing``, ``types`` ([[raw, display], ...] offered in the prompt).
"""

from __future__ import annotations

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.labels import kb_label_kinds
from taiyi.instructions.tasks.typed_codec import TypedListCodec, keep_typed
from taiyi.text import record_lang

TASK = "ner"
CODEC = TypedListCodec(TASK, ("mention",), "entity list", absent_type_prob=0.5)


def mention_text(entity: dict) -> str:
    return " ".join(" ".join(entity.get("text") or []).split())


def gold_target(record: dict) -> list[list[str]]:
    pairs = {(str(e["type"]), mention_text(e)) for e in record.get("entities", [])}
    return [list(p) for p in sorted(pairs) if p[1]]


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "kb" or not record.get("entities") and not info.get("label_names"):
        return []
    text = document_text(record).strip()
    if not text:
        return []
    lang = record_lang(record, info)
    only = info.get("ner_types")
    if only is not None:  # types annotated only where an event or relation needs them are not asked for
        keep = {str(t) for t in only}
        record = {**record, "entities": keep_typed(record.get("entities", []), lambda t: t if str(t) in keep else None)}
    target = gold_target(record)
    all_types = [t for t in kb_label_kinds(info, record)[0] if only is None or t in keep]
    if not all_types:
        return []
    return CODEC.examples(record, rng, info, lang=lang, text=text, target=target, all_types=all_types, mode=mode)


render = CODEC.render  # (target, meta, phrasing=None) -> answer text
parse = CODEC.parse  # (text, meta) -> [[type, ...], ...]; ParseError when unreadable


@register_task(TASK)
class NerTask(Task):
    """Entity lists scored per document (strict and span-grounded micro-F1)."""

    unit = "document"
    window_long_documents = True
    stage = 1
    max_new_tokens = 512
    metrics = ("micro_f1", "grounded_f1", "span_f1")
    types_key = "entity_types"
    only_offered_types = True

    def restrict(self, record: dict, keep) -> dict:
        """Only the entities of the benchmark's types (renamed); relations and coreferences between kept ones."""
        if record.get("schema") != "kb":
            return record
        kept = keep_typed(record.get("entities", []), keep)
        ids = {e["id"] for e in kept} | {ev["id"] for ev in record.get("events", [])}
        record["entities"] = kept
        record["relations"] = [r for r in record.get("relations", []) if r["arg1_id"] in ids and r["arg2_id"] in ids]
        record["coreferences"] = [
            {**c, "entity_ids": [i for i in c["entity_ids"] if i in ids]} for c in record.get("coreferences", [])
        ]
        return record
