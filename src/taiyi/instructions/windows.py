"""Cut over-long kb documents into windows of whole sentences, each a record of its own, for training.

Why: full-text articles (BioNLP-ST ID and GRO, Verspoor 2013, CRAFT-like corpora) do not fit a 1,024-token
conversation, so every instruction made from them was dropped as too long and those corpora taught nothing.
A window is a run of whole sentences (never cut inside an entity or a trigger) whose text fits ``max_tokens``
(estimated); it keeps the entities and event triggers inside it, the events whose arguments are all inside,
the relations between kept entities, and the coreference chains' kept members, with offsets shifted so the
window validates like any record. Annotations that cross a cut are lost, which is why a document is only cut
as far as it must be: when its text is too long, or (``record_examples``) when an instruction made from it is (a
dense BioNLP event list), halving the window until it fits. Evaluation sets are never windowed: a benchmark's
unit stays the published document.
"""

from __future__ import annotations

import random
import re

from taiyi.corpus.schema import document_text
from taiyi.instructions.mix import draw_count
from taiyi.instructions.quality import estimate_tokens

MIN_WINDOW = 64  # tokens: windows are not cut smaller than this

# a sentence ends at . ! ? (or their CJK forms) followed by whitespace, or at a line break
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")


def _cuts(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Positions a window may start at: sentence starts that fall inside no annotated span."""
    inside = bytearray(len(text) + 1)
    for s, e in spans:
        for i in range(s + 1, min(e, len(text))):
            inside[i] = 1
    return [m.end() for m in _SENTENCE_END.finditer(text) if 0 < m.end() < len(text) and not inside[m.end()]]


def _spans(record: dict) -> list[tuple[int, int]]:
    out = [tuple(o) for e in record.get("entities", []) for o in e.get("offsets", [])]
    out += [tuple(o) for ev in record.get("events", []) for o in ev.get("trigger", {}).get("offsets", [])]
    # a discontinuous mention is one annotation: its whole extent must stay in one window
    out += [(min(s for s, _ in e["offsets"]), max(x for _, x in e["offsets"]))
            for e in record.get("entities", []) if len(e.get("offsets", [])) > 1]
    return out


def _unplaced(record: dict) -> bool:
    """True when an entity or event trigger has no offsets (CHIP-CDEE events): no window can say it holds them."""
    return any(not e.get("offsets") for e in record.get("entities", [])) or \
        any(not ev.get("trigger", {}).get("offsets") for ev in record.get("events", []))


def windows(record: dict, max_tokens: int) -> list[dict]:
    """``[record]`` when its text fits ``max_tokens`` (or it is not kb, or holds annotations without offsets), else
    its windows (ids ``<id>#w<k>``)."""
    if record.get("schema") != "kb" or max_tokens <= 0:
        return [record]
    text = document_text(record)
    if estimate_tokens(text) <= max_tokens or _unplaced(record):
        return [record]
    bounds, start = [], 0
    cuts = _cuts(text, _spans(record)) + [len(text)]
    prev = None
    for c in cuts:  # greedy: extend the window sentence by sentence while it fits
        if prev is not None and prev > start and estimate_tokens(text[start:c]) > max_tokens:
            bounds.append((start, prev))
            start = prev
        prev = c
    bounds.append((start, len(text)))
    out = []
    for k, (a, b) in enumerate(bounds):
        win = _window(record, text, a, b, k)
        if win is not None:
            out.append(win)
    return out


def _shift(offsets: list, a: int) -> list[list[int]]:
    return [[s - a, e - a] for s, e in offsets]


def _window(record: dict, text: str, a: int, b: int, k: int) -> dict | None:
    if not text[a:b].strip():
        return None
    within = lambda offs: all(a <= s and e <= b for s, e in offs)  # noqa: E731
    passages = []
    for p in record.get("passages", []):
        texts, offs = [], []
        for (s, e), t in zip(p["offsets"], p["text"]):
            lo, hi = max(s, a), min(e, b)
            if lo < hi:
                texts.append(t[lo - s: hi - s])
                offs.append([lo - a, hi - a])
        if texts:
            passages.append({**p, "id": f"{p['id']}#w{k}", "text": texts, "offsets": offs})
    entities = [{**e, "offsets": _shift(e["offsets"], a)} for e in record.get("entities", []) if within(e["offsets"])]
    kept = {e["id"] for e in entities}
    events = [ev for ev in record.get("events", []) if within(ev["trigger"]["offsets"])]
    while True:  # nested events: an event stays only if every argument it names stays
        ids = kept | {ev["id"] for ev in events}
        keep = [ev for ev in events if all(x.get("ref_id") in ids for x in ev.get("arguments", []) if "ref_id" in x)]
        if len(keep) == len(events):
            break
        events = keep
    events = [{**ev, "trigger": {**ev["trigger"], "offsets": _shift(ev["trigger"]["offsets"], a)}} for ev in events]
    ids = kept | {ev["id"] for ev in events}
    relations = [r for r in record.get("relations", []) if r["arg1_id"] in ids and r["arg2_id"] in ids]
    corefs = []
    for c in record.get("coreferences", []):
        members = [i for i in c["entity_ids"] if i in ids]
        if len(members) > 1:
            corefs.append({**c, "entity_ids": members})
    return {**record, "id": f"{record['id']}#w{k}", "passages": passages, "entities": entities, "events": events,
            "relations": relations, "coreferences": corefs}


def record_examples(record: dict, tasks: dict, infos: dict, *, seed: str, draws, window: int, judge):
    """The training instructions of one record for each of its tasks, judged: ``([(task name, piece,
    [(instruction, drop reason or None)])], [(task name, exception)])``.

    ``piece`` is the record, or for a task that windows long documents (``window`` tokens, 0: never) one of its
    windows (cut once per record, shared by its tasks); a piece with an instruction ``judge`` finds too long (a
    dense event list makes a long answer) is cut again at half the size, down to MIN_WINDOW, so a document is
    only cut as far as it has to be. Each piece draws its prompts from ``Random(f"{seed}:{piece id}:{task}")``
    (an uncut record: the build's usual seed). A codec exception ends that piece's draws and is returned.
    """
    first = None
    out, errors = [], []
    for name, task in tasks.items():
        if window and task.window_long_documents:
            first = windows(record, window) if first is None else first
            todo = [(p, window) for p in first]
        else:
            todo = [(record, 0)]
        while todo:
            piece, budget = todo.pop(0)
            rng = random.Random(f"{seed}:{piece['id']}:{name}")
            made: list = []
            for _ in range(draw_count(rng, draws)):
                try:
                    made += task.examples(piece, rng, infos[name], mode="train")
                except Exception as exc:  # a record the codec cannot handle: counted by the caller, never fatal
                    errors.append((name, exc))
                    break
            judged = [(inst, judge(inst)) for inst in made]
            smaller = _recut(piece, budget) if any(why == "too_long" for _, why in judged) else []
            if smaller:
                todo[:0] = smaller
            else:
                out.append((name, piece, judged))
    return out, errors


def _recut(piece: dict, budget: int) -> list[tuple[dict, int]]:
    """``piece`` cut at the largest halving of ``budget`` (not below MIN_WINDOW) that splits it; [] if none."""
    while budget and budget // 2 >= MIN_WINDOW:
        budget //= 2
        smaller = windows(piece, budget)
        if len(smaller) > 1:
            return [(p, budget) for p in smaller]
    return []
