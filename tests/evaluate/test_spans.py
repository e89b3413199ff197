"""Span-level NER F1 equals seqeval's entity F1 on the located spans, on the real test sets (../shared/datasets:
NCBI-disease, BC5CDR-Chem, BioRED) with perturbed predictions over several seeds; the gold answers score 100."""

from __future__ import annotations

import random

import pytest

from taiyi.evaluate import registry, runner
from taiyi.evaluate.metrics import get_metric
from taiyi.evaluate.metrics.spans import locate

BENCHES = ("NCBI-disease", "BC5CDR-Chem", "BioRED")


@pytest.fixture(scope="module")
def docs(shared_datasets):
    """(text, gold spans, gold (type, mention) set, types) per document without overlapping gold spans."""
    out, datasets = {}, {}
    for b in registry.select(list(BENCHES)):
        rows = []
        for it in runner.load_items(b, data_root=shared_datasets, datasets=datasets, limit=150):
            spans = sorted(it.meta["spans"], key=lambda s: (s[1], s[2]))
            if any(a[2] > c[1] for a, c in zip(spans, spans[1:])):
                continue  # nested gold spans cannot be written as BIO tags
            rows.append((it.meta["text"], spans, {tuple(x) for x in it.target}, [t for t, _ in it.meta["types"]]))
        out[b.name] = rows
    return out


def _bio(spans, n):
    tags = ["O"] * n
    for t, s, e in spans:
        tags[s] = f"B-{t}"
        for i in range(s + 1, e):
            tags[i] = f"I-{t}"
    return tags


def _perturb(rng, text, spans, types):
    """Predicted (type, mention) strings: gold spans dropped, cut short, widened, retyped, plus spurious words."""
    out = set()
    seen = [text[s:e].casefold() for _, s, e, _ in spans]
    for t, s, e, m in spans:
        r = rng.random()
        once = seen.count(text[s:e].casefold()) == 1 and text.casefold().count(text[s:e].casefold()) == 1
        if r < 0.15:
            continue
        if r < 0.3 and e - s > 2 and once:
            e -= 1
        elif r < 0.4 and once:
            nxt = text.find(" ", e + 1)
            e = nxt if 0 < nxt - e < 15 else e
        elif r < 0.5 and len(types) > 1 and seen.count(text[s:e].casefold()) == 1:
            t = rng.choice([x for x in types if x != t])
        out.add((t, text[s:e] if e > s else m))
    inside = {i for _, s, e, _ in spans for i in range(s, e)}
    words = [w for w in set(text.split()) if w.isalpha() and text.count(w) == 1 and text.index(w) not in inside]
    for w in rng.sample(sorted(words), min(3, len(words))):
        out.add((rng.choice(types), w))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bench", BENCHES)
def test_span_f1_equals_seqeval(docs, bench, seed):
    from seqeval.metrics import f1_score, precision_score, recall_score

    rng = random.Random(seed)
    rows = docs[bench]
    assert len(rows) >= 50
    preds = [_perturb(rng, text, spans, types) for text, spans, _, types in rows]
    kept = [(p, r) for p, r in zip(preds, rows) if locate(p, r[1], r[0])[1] == 0]  # every string located
    assert len(kept) >= 0.8 * len(rows)
    ctx = [{"text": r[0], "meta": {"spans": r[1]}} for _, r in kept]
    ours = get_metric("span_f1")([p for p, _ in kept], [r[2] for _, r in kept], ctx)
    y_true = [_bio([(t, s, e) for t, s, e, _ in r[1]], len(r[0])) for _, r in kept]
    y_pred = [_bio(sorted(locate(p, r[1], r[0])[0]), len(r[0])) for p, r in kept]
    assert ours["score"] == pytest.approx(100 * f1_score(y_true, y_pred), abs=1e-9)
    assert ours["precision"] == pytest.approx(100 * precision_score(y_true, y_pred), abs=1e-9)
    assert ours["recall"] == pytest.approx(100 * recall_score(y_true, y_pred), abs=1e-9)
    assert 20 < ours["score"] < 95  # the perturbation really changes the score


@pytest.mark.parametrize("bench", BENCHES)
def test_gold_answers_score_100_and_hallucinations_count(docs, bench):
    rows = docs[bench]
    ctx = [{"text": r[0], "meta": {"spans": r[1]}} for r in rows]
    m = get_metric("span_f1")
    assert m([r[2] for r in rows], [r[2] for r in rows], ctx)["score"] == 100.0
    bad = m([r[2] | {(r[3][0], "zzqx-not-in-text")} for r in rows], [r[2] for r in rows], ctx)
    assert bad["unlocated"] == len(rows) and bad["score"] < 100.0
    assert m([None] * len(rows), [r[2] for r in rows], ctx)["score"] == 0.0


def test_without_annotated_spans_gold_strings_are_located_by_the_same_rule():
    m = get_metric("span_f1")
    gold = [[["Chemical", "aspirin"], ["Chemical", "Aspirin"], ["Disease", "not in the text"]]]
    ctx = [{"text": "Aspirin, then aspirin again.", "meta": {}}]
    assert m(gold, gold, ctx)["score"] == 100.0 and m(gold, gold, ctx)["gold_spans"] == "located"
    res = m([[["Chemical", "aspirin"], ["Chemical", "ibuprofen"]]], gold, ctx)
    assert (res["tp"], res["fp"], res["fn"], res["unlocated"]) == (1, 1, 2, 1)
