"""Label names in prompts: display names from the catalog, label order, which kb labels are entity or relation types.

Why: every task that offers types or labels (ner, re, ee, cls, pair) names them the same way in both languages,
and fills its prompt templates the same way.
"""

from __future__ import annotations

import re
from typing import Iterable

from taiyi.instructions.tasks.typed_answers import fold_name


def display_name(info: dict, raw: str, lang: str) -> str:
    """The label's name in the prompt language from the catalog's ``label_names`` (falls back to the raw label)."""
    names = (info.get("label_names") or {}).get(raw) or {}
    if isinstance(names, dict):
        return str(names.get(lang) or names.get("en") or raw)
    return str(names or raw)


def label_order(info: dict, present: Iterable[str]) -> list[str]:
    """All labels of a dataset: the catalog's ``label_names`` order, then any other label seen in the record."""
    known = [str(k) for k in (info.get("label_names") or {})]
    extra = sorted(set(present) - set(known))
    return known + extra


def fill(template: str, **values: str) -> str:
    """Put values into a prompt template (plain replacement: documents may contain braces)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def offered_names(info: dict, raws: Iterable[str], lang: str) -> list[list[str]]:
    """``[[raw, display], ...]`` for a prompt; display names shared by two labels get the raw label appended."""
    pairs = [[r, display_name(info, r, lang)] for r in raws]
    seen: dict[str, int] = {}
    for _, d in pairs:
        seen[fold_name(d)] = seen.get(fold_name(d), 0) + 1
    return [[r, d if seen[fold_name(d)] == 1 or fold_name(d) == fold_name(r) else f"{d} ({r})"] for r, d in pairs]


def kb_label_kinds(info: dict, record: dict) -> tuple[list[str], list[str]]:
    """(entity types, relation types) of a kb dataset, in catalog order.

    Uses the catalog's ``entity_types`` / ``relation_types`` lists when present. Otherwise ``label_names`` holds
    both (entity types first, as every catalog entry lists them): labels used by this record's entities or
    relations are classified by use, the others by position (before the first relation label: entity type)."""
    ents = [str(e["type"]) for e in record.get("entities", [])]
    rels = [str(r["type"]) for r in record.get("relations", [])]
    if info.get("entity_types") is not None or info.get("relation_types") is not None:
        et = [str(x) for x in info.get("entity_types") or []]
        rt = [str(x) for x in info.get("relation_types") or []]
        return et + sorted(set(ents) - set(et)), rt + sorted(set(rels) - set(rt))
    keys = [str(k) for k in (info.get("label_names") or {})]
    used_e, used_r = set(ents), set(rels)
    first_rel = min((keys.index(k) for k in used_r if k in keys), default=None)
    last_ent = max((keys.index(k) for k in used_e if k in keys), default=-1)
    et, rt = [], []
    for i, k in enumerate(keys):
        if k in used_e:
            et.append(k)
        elif k in used_r:
            rt.append(k)
        elif (first_rel is not None and i < first_rel) or (first_rel is None and i < last_ent):
            et.append(k)
        elif "re" in info.get("tasks", []) or first_rel is not None:
            rt.append(k)
        else:
            et.append(k)
    return et + sorted(used_e - set(keys)), rt + sorted(used_r - set(keys))
