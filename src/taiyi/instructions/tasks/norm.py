"""Entity normalisation codec: a mention -> its standard term(s) or concept id(s), chosen from a candidate list.

Why: CHIP-CDN (clinical diagnosis -> ICD-10 standard terms) and the concept ids of BC5CDR / NCBI-disease
(mention -> MeSH / OMIM) are the paper's normalisation data. Neither the terminology (ICD-10 Beijing v601) nor MeSH
ships with the corpora, so, as PromptCBLUE does, the prompt offers candidates: the gold ones plus distractors drawn
from the dataset's own term vocabulary (``dataset_facts``: every gold term / concept of the records being built,
a concept named by its most frequent mention), sampled with the record's seeded RNG and ranked by character-bigram
overlap with the mention so that they are plausible. In train mode one prompt in ten offers no gold candidate and
teaches the empty answer ("none of them"); evaluation prompts always offer every gold candidate.

Sources: t2t records named ``normalized_terms`` (CHIP-CDN: ``text_1`` the diagnosis, ``text_2`` "##"-joined terms),
and kb entities with ``normalized`` ids (one prompt per distinct (type, mention) of a document, the document as
context; train mode keeps at most ``MAX_MENTIONS_PER_DOC`` of them). A concept is ``db_name:db_id`` ("MESH:D015738").

Target: the sorted unique raw terms / concept keys the answer names. ``meta``: ``lang``, ``phrasing``, ``kind``
("term" | "concept"), ``options`` ([[raw, display], ...] offered, in prompt order). Scored by micro-F1 over
(item, term) pairs, the CHIP-CDN measure.
"""

from __future__ import annotations

from collections import Counter

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks.answer_text import unwrap
from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.labels import display_name, fill
from taiyi.instructions.tasks.ner import mention_text
from taiyi.instructions.tasks.option_scan import scan
from taiyi.instructions.tasks.registry import Task, register_task
from taiyi.instructions.tasks.typed_answers import is_empty_answer
from taiyi.text import record_lang

TASK = "norm"
TERM_FIELDS = {"normalized_terms", "normalized_result", "standard_terms"}
MAX_MENTIONS_PER_DOC = 3
NO_GOLD_PROB = 0.1  # train mode: share of prompts whose candidates hold no gold term
POOL = 40  # random vocabulary entries ranked for plausibility per prompt


def concept_key(ref: dict) -> str:
    db, cid = str(ref.get("db_name") or "").strip(), str(ref.get("db_id") or "").strip()
    return f"{db}:{cid}" if db and cid else cid


def term_items(record: dict) -> list[tuple[str, str, list[str]]]:
    """(entity type, mention, sorted gold keys) to normalise in one record: one for a CHIP-CDN t2t record, one per
    distinct (type, mention) with normalised ids in a kb record."""
    if record.get("schema") == "t2t" and str(record.get("text_2_name", "")).strip().lower() in TERM_FIELDS:
        mention = " ".join(str(record.get("text_1", "")).split())
        terms = sorted({" ".join(t.split()) for t in str(record.get("text_2", "")).split("##") if t.strip()})
        return [("", mention, terms)] if mention and terms else []
    if record.get("schema") != "kb":
        return []
    found: dict[tuple[str, str], set[str]] = {}
    for e in record.get("entities", []):
        keys = {concept_key(r) for r in e.get("normalized") or []} - {""}
        m = mention_text(e)
        if keys and m:
            found.setdefault((str(e["type"]), m), set()).update(keys)
    return [(t, m, sorted(k)) for (t, m), k in sorted(found.items())]


def _bigrams(s: str) -> set[str]:
    s = s.lower()
    return {s[i : i + 2] for i in range(len(s) - 1)} or {s}


def candidates(mention: str, gold: list[str], vocab: dict[str, str], keys: list[str], rng, *, with_gold: bool) -> list[str]:
    """Gold keys (when ``with_gold``) plus 2-4 distractors from ``keys`` (sorted vocabulary), shuffled."""
    pool = [k for k in rng.sample(keys, min(POOL, len(keys))) if k not in gold]
    mb = _bigrams(mention)
    pool.sort(key=lambda k: -len(mb & _bigrams(vocab.get(k) or k)))  # stable: ties keep the random order
    n = rng.randint(2, 4)
    out = (list(gold) if with_gold else []) + pool[:n]
    rng.shuffle(out)
    return out


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    items = term_items(record)
    if not items:
        return []
    kind = "term" if record["schema"] == "t2t" else "concept"
    text = document_text(record).strip() if kind == "concept" else ""
    if kind == "concept" and not text:
        return []
    if mode == "train" and len(items) > MAX_MENTIONS_PER_DOC:
        items = sorted(rng.sample(items, MAX_MENTIONS_PER_DOC))
    lang = record_lang(record, info, text or items[0][1])
    tpl = load_templates(TASK, lang)
    prompts = [p for p in tpl.prompts if p.get("kind", "term") == kind]
    vocabs = ((info.get("facts") or {}).get(TASK) or {}).get("vocab") or {}
    sep = "、" if lang == "zh" else "; "
    out = []
    for i, (etype, mention, gold) in enumerate(items):
        vocab = vocabs.get(etype) or {}
        keys = sorted(vocab)
        with_gold = mode != "train" or rng.random() >= NO_GOLD_PROB or not keys
        offered = candidates(mention, gold, vocab, keys, rng, with_gold=with_gold)
        options = [[k, k if kind == "term" or not vocab.get(k) else f"{k} ({vocab[k]})"] for k in offered]
        target = sorted(gold) if with_gold else []
        prompt = prompts[rng.randrange(len(prompts))]
        meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "kind": kind, "options": options}
        user = fill(prompt["text"], mention=mention, text=text, options=sep.join(d for _, d in options),
                    type=display_name(info, etype, lang) if etype else "")
        out.append(Instruction.for_record(record, TASK, prompt, lang=lang, user=user, answer=render(target, meta),
                                          target=target, meta=meta, variant=i))
    return out


def render(target: list[str], meta: dict, phrasing: int | None = None) -> str:
    tpl = load_templates(TASK, meta["lang"])
    k = meta["phrasing"] if phrasing is None else phrasing
    if not target:
        return tpl.empty[k % len(tpl.empty)]
    sep = "，" if meta["lang"] == "zh" else "; "
    return tpl.answers[k % len(tpl.answers)].replace("{answer}", sep.join(target))


def parse(text: str | None, meta: dict) -> list[str]:
    """The offered candidates the answer names (by raw term/id or by its display form), sorted unique."""
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    tpl = load_templates(TASK, meta["lang"])
    if is_empty_answer(str(text), tpl.empty):
        return []
    hits = scan(unwrap(str(text), tpl.answers), meta["options"])
    if not hits:
        raise ParseError(f"no offered candidate named in answer: {str(text)[:80]!r}")
    return sorted({raw for _, raw in hits})


@register_task(TASK)
class NormTask(Task):
    """Standard terms / concept ids chosen from offered candidates, scored by micro-F1 over (item, term) pairs."""

    unit = "item"
    stage = 1
    max_new_tokens = 128
    metrics = ("micro_f1",)

    def dataset_facts(self, records, info: dict) -> dict | None:
        """``{"vocab": {entity type ("" for terms): {key: name}}}``: every gold key of the records, a concept named
        by its most frequent mention (ties: the alphabetically first)."""
        names: dict[str, dict[str, Counter]] = {}
        for rec in records:
            for etype, mention, gold in term_items(rec):
                for k in gold:  # a standard term names itself; a concept id is named by its mentions
                    names.setdefault(etype, {}).setdefault(k, Counter())[k if rec["schema"] == "t2t" else mention] += 1
        if not names:
            return None
        return {"vocab": {t: {k: min(c, key=lambda m: (-c[m], m)) for k, c in sorted(v.items())}
                          for t, v in sorted(names.items())}}
