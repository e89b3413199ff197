"""Metrics: checked against seqeval on a BIO case and against hand-computed counts."""

from __future__ import annotations

import pytest

from taiyi.evaluate import metrics


def _bio_spans(tokens, tags):
    """(type, start, end, mention) of each BIO entity, with character offsets into ' '.join(tokens)."""
    out, starts, pos = [], [], 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + 1
    cur = None
    for i, tag in enumerate(tags + ["O"]):
        if cur and (tag == "O" or tag.startswith("B-") or tag[2:] != cur[0]):
            s, e = starts[cur[1]], starts[i - 1] + len(tokens[i - 1])
            out.append((cur[0], s, e, " ".join(tokens[cur[1]:i])))
            cur = None
        if tag.startswith("B-") or (tag.startswith("I-") and cur is None):
            cur = (tag[2:], i)
    return out


SENTENCES = [
    ("Aspirin reduced asthma attacks but caused gastric bleeding".split(),
     ["B-Chem", "O", "B-Dis", "O", "O", "O", "B-Dis", "I-Dis"],
     ["B-Chem", "O", "B-Dis", "I-Dis", "O", "O", "O", "B-Dis"]),
    ("Cisplatin nephrotoxicity was treated with magnesium sulfate".split(),
     ["B-Chem", "B-Dis", "O", "O", "O", "B-Chem", "I-Chem"],
     ["B-Chem", "B-Dis", "O", "O", "O", "B-Chem", "I-Chem"]),
    ("No adverse events were seen with metformin".split(),
     ["O", "B-Dis", "I-Dis", "O", "O", "O", "B-Chem"],
     ["O", "O", "O", "O", "O", "O", "O"]),
]


def test_ner_f1_equals_seqeval_on_bio():
    import seqeval.metrics as seqeval
    gold_tags = [g for _, g, _ in SENTENCES]
    pred_tags = [p for _, _, p in SENTENCES]
    ref_f1 = 100 * seqeval.f1_score(gold_tags, pred_tags, average="micro")
    ref_p = 100 * seqeval.precision_score(gold_tags, pred_tags, average="micro")
    ref_r = 100 * seqeval.recall_score(gold_tags, pred_tags, average="micro")

    texts = [" ".join(t) for t, _, _ in SENTENCES]
    golds = [[[t, m] for t, _, _, m in _bio_spans(toks, g)] for toks, g, _ in SENTENCES]
    preds = [[[t, m] for t, _, _, m in _bio_spans(toks, p)] for toks, _, p in SENTENCES]
    strict = metrics.set_f1(preds, golds)
    grounded = metrics.grounded_f1(preds, golds, texts, kind="ner")
    spans_g = [{(t, s, e) for t, s, e, _ in _bio_spans(toks, g)} for toks, g, _ in SENTENCES]
    spans_p = [{(t, s, e) for t, s, e, _ in _bio_spans(toks, p)} for toks, _, p in SENTENCES]
    by_offsets = metrics.set_f1(spans_p, spans_g)
    for res in (strict, grounded, by_offsets):
        assert res["f1"] == pytest.approx(ref_f1)
        assert res["precision"] == pytest.approx(ref_p)
        assert res["recall"] == pytest.approx(ref_r)
    ref_per = seqeval.classification_report(gold_tags, pred_tags, output_dict=True)
    for typ in ("Chem", "Dis"):
        assert strict["per_type"][typ]["f1"] == pytest.approx(100 * ref_per[typ]["f1-score"])


def test_hand_computed_ner_with_parse_failure():
    golds = [[["Chemical", "aspirin"], ["Disease", "asthma"]], [["Disease", "influenza"]], []]
    preds = [[["Chemical", "aspirin"], ["Disease", "cough"], ["Chemical", "aspirin"]], None, []]
    res = metrics.set_f1(preds, golds)
    # tp = aspirin; fp = cough + the unreadable answer; fn = asthma + influenza
    assert (res["tp"], res["fp"], res["fn"]) == (1, 2, 2)
    assert res["precision"] == pytest.approx(100 / 3)
    assert res["f1"] == pytest.approx(100 / 3)
    assert res["per_type"]["Disease"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 1, "fn": 2}


def test_hand_computed_re():
    golds = [[["CID", "cisplatin", "nephrotoxicity"], ["CID", "aspirin", "bleeding"]]]
    preds = [[["CID", "cisplatin", "nephrotoxicity"], ["CID", "bleeding", "aspirin"]]]
    res = metrics.set_f1(preds, golds)
    assert (res["tp"], res["fp"], res["fn"]) == (1, 1, 1) and res["f1"] == pytest.approx(50.0)


def test_grounded_f1_locates_sloppy_mentions_and_counts_hallucinations():
    text = "Severe  Asthma was treated with salbutamol; asthma recurred."
    golds = [[["Disease", "Asthma"], ["Chemical", "salbutamol"]]]
    preds = [[["Disease", "severe asthma"], ["Disease", "asthma"], ["Chemical", "Salbutamol"], ["Chemical", "unicorn dust"]]]
    strict = metrics.set_f1(preds, golds)
    assert strict["tp"] == 0  # strict string matching is case sensitive, as in the paper
    g = metrics.grounded_f1(preds, golds, [text], kind="ner")
    # gold spans: 'Asthma' (8-14, exact), 'salbutamol' (32-42).
    # pred spans: 'severe asthma' -> 0-14 (case/space-insensitive), 'asthma' -> 44-50 (exact occurrence first),
    # 'Salbutamol' -> 32-42 (tp), 'unicorn dust' not in the text (ungrounded fp).
    assert g["ungrounded"] == 1
    assert (g["tp"], g["fp"], g["fn"]) == (1, 3, 1)


def test_grounder_offsets_are_in_original_text():
    text = "Ｃａｆｆｅｉｎｅ and  Type 2\n diabetes"
    g = metrics.Grounder(text)
    (s, e), = g.spans("type 2 diabetes")
    assert text[s:e] == "Type 2\n diabetes"
    (s, e), = g.spans("caffeine")
    assert text[s:e] == "Ｃａｆｆｅｉｎｅ"
    assert g.spans("insulin") == []


def test_label_f1_and_accuracy():
    res = metrics.label_f1([["a", "b"], ["c"], None], [["a"], ["c", "d"], ["e"]])
    # tp a, c; fp b, unreadable; fn d, e
    assert (res["tp"], res["fp"], res["fn"]) == (2, 2, 2)
    assert metrics.label_f1(["x", "y"], ["x", "z"])["f1"] == pytest.approx(50.0)
    choices = ["yes", "no", "maybe"]
    acc = metrics.accuracy(["yes", "B", "(c)", None, "No."], ["yes", "no", "maybe", "no", "no"], [choices] * 5)
    assert (acc["correct"], acc["total"]) == (4, 5) and acc["accuracy"] == pytest.approx(80.0)
    assert not metrics.choice_correct("D", "no", choices)


def test_empty_everything_is_perfect_and_length_mismatch_raises():
    assert metrics.set_f1([[]], [[]])["f1"] == 100.0
    with pytest.raises(ValueError, match="2 predictions for 1"):
        metrics.set_f1([[], []], [[]])
