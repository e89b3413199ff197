"""Relation extraction codec: kb records -> "which <relation> pairs does this text state" prompts and back.

Why: RE benchmarks in the paper (BC5CDR CID, ChemProt CPR groups, BioRED, CMeIE predicates) all reduce to
naming (relation, head, tail) triples by their entity texts. Each document yields one all-relation-types
prompt and, by task decomposition, one prompt per relation type present (plus now and then an absent one).

Target: ``[[type, head, tail], ...]`` sorted unique; ``type`` is the raw relation label, head/tail are the
texts of the relation's arg1/arg2 entities (discontinuous parts joined by one space, whitespace collapsed,
as in the ner codec). ``meta``: ``lang``, ``phrasing``, ``types`` ([[raw, display], ...] offered).
"""

from __future__ import annotations

import functools

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.ner import mention_text
from taiyi.instructions.tasks.set_f1 import micro_f1
from taiyi.instructions.tasks.typed_answers import TypedRecords, fill, is_empty_answer, kb_label_kinds, offered_names, phrasings, prompt_lang

TASK = "re"
ABSENT_TYPE_PROB = 0.3


def gold_target(record: dict) -> list[list[str]]:
    ents = {e["id"]: mention_text(e) for e in record.get("entities", [])}
    out = set()
    for r in record.get("relations", []):
        h, t = ents.get(r["arg1_id"]), ents.get(r["arg2_id"])
        if h and t:
            out.add((str(r["type"]), h, t))
    return [list(x) for x in sorted(out)]


@functools.lru_cache(maxsize=1024)
def _reader(lang: str, types: tuple[tuple[str, str], ...]) -> TypedRecords:
    tpl = load_templates(TASK, lang)
    return TypedRecords(phrasings(tpl, f"{TASK}.{lang}.yaml"), ("head", "tail"), types, lang)


def _types(meta: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(r), str(d)) for r, d in meta["types"])


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    if record.get("schema") != "kb":
        return []
    text = document_text(record).strip()
    all_types = kb_label_kinds(info, record)[1]
    if not text or not all_types:
        return []
    lang = prompt_lang(record, info)
    tpl = load_templates(TASK, lang)
    target = gold_target(record)
    asks: list[list[str]] = [all_types]
    if mode == "train" and len(all_types) > 1:
        present = sorted({t for t, _, _ in target}, key=all_types.index)
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
        sub = [x for x in target if x[0] in types]
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
        raise ParseError(f"no relation list in answer: {str(text)[:80]!r}") from None


def score(preds: list, golds: list) -> dict[str, float]:
    """Strict micro-F1 over per-document sets of (type, head, tail), with a per-relation-type breakdown."""
    return micro_f1(preds, golds, group=lambda x: x[0])
