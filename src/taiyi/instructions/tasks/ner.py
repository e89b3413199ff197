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

import functools

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.set_f1 import micro_f1
from taiyi.instructions.tasks.typed_answers import (
    TypedRecords,
    fill,
    is_empty_answer,
    kb_label_kinds,
    offered_names,
    phrasings,
    prompt_lang,
)

TASK = "ner"
ABSENT_TYPE_PROB = 0.5  # train mode: chance of one extra per-type prompt for a type the document lacks


def mention_text(entity: dict) -> str:
    return " ".join(" ".join(entity.get("text") or []).split())


def gold_target(record: dict) -> list[list[str]]:
    pairs = {(str(e["type"]), mention_text(e)) for e in record.get("entities", [])}
    return [list(p) for p in sorted(pairs) if p[1]]


@functools.lru_cache(maxsize=1024)
def _reader(lang: str, types: tuple[tuple[str, str], ...]) -> TypedRecords:
    tpl = load_templates(TASK, lang)
    return TypedRecords(phrasings(tpl, f"{TASK}.{lang}.yaml"), ("mention",), types, lang)


def _types(meta: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(r), str(d)) for r, d in meta["types"])


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "kb" or not record.get("entities") and not info.get("label_names"):
        return []
    text = document_text(record).strip()
    if not text:
        return []
    lang = prompt_lang(record, info)
    tpl = load_templates(TASK, lang)
    target = gold_target(record)
    all_types = kb_label_kinds(info, record)[0]
    if not all_types:
        return []
    asks: list[list[str]] = [all_types]
    if mode == "train" and len(all_types) > 1:
        present = sorted({t for t, _ in target}, key=all_types.index)
        asks += [[t] for t in present]
        absent = [t for t in all_types if t not in present]
        if absent and rng.random() < ABSENT_TYPE_PROB:
            asks.append([absent[rng.randrange(len(absent))]])
    sep = "、" if lang == "zh" else ", "
    out = []
    for i, types in enumerate(asks):
        prompt = tpl.prompt(rng)
        offered = offered_names(info, types, lang)
        meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "types": offered}
        sub = [p for p in target if p[0] in types]
        user = fill(prompt["text"], text=text, types=sep.join(d for _, d in offered))
        out.append(
            Instruction(
                id=f"{record['dataset']}/{record['id']}/{TASK}/{i}",
                dataset=record["dataset"],
                task=TASK,
                lang=lang,
                template_id=prompt["id"],
                messages=[{"role": "user", "content": user}, {"role": "assistant", "content": render(sub, meta)}],
                target=sub,
                document_id=record["document_id"],
                meta=meta,
            )
        )
    return out


def render(target: list, meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    if not target:
        return tpl.empty[k % len(tpl.empty)]
    return _reader(meta["lang"], _types(meta)).render([tuple(x) for x in target], k % len(tpl.answers))


def parse(text: str | None, meta: dict) -> list[list[str]]:
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    tpl = load_templates(TASK, meta["lang"])
    try:
        return [list(r) for r in _reader(meta["lang"], _types(meta)).read(str(text), prefer=meta.get("phrasing"))]
    except ValueError:
        if is_empty_answer(str(text), tpl.empty):
            return []
        raise ParseError(f"no entity list in answer: {str(text)[:80]!r}") from None


def score(preds: list, golds: list) -> dict[str, float]:
    """Strict micro-F1 over per-document sets of (type, mention), with a per-type breakdown (0-100 + counts)."""
    return micro_f1(preds, golds, group=lambda x: x[0])
