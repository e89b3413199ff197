"""Scoring conventions: PubMedQA accuracy and macro-F1 equal scikit-learn's on the same answers (real test set,
../shared/datasets, several seeds, unreadable answers included); the lab's relation and option-text rules; every
benchmark result names its conventions, its oracle ceilings and its options per item."""

from __future__ import annotations

import random

import pytest

from taiyi.evaluate import registry, runner
from taiyi.evaluate.conventions import applicable, conventions
from taiyi.evaluate.metrics import get_metric
from taiyi.evaluate.scoring import score_benchmark


@pytest.fixture(scope="module")
def pubmedqa(shared_datasets):
    bench = registry.select(["PubMedQA"])[0]
    return bench, runner.load_items(bench, data_root=shared_datasets)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pubmedqa_accuracy_and_macro_f1_equal_sklearn(pubmedqa, seed):
    from sklearn.metrics import accuracy_score, f1_score

    bench, items = pubmedqa
    rng = random.Random(seed)
    answers, labels = {}, []
    for it in items:
        r = rng.random()
        if r < 0.05:
            answers[it.id], label = "I cannot tell.", "<unreadable>"
        else:
            label = it.target if r < 0.6 else rng.choice(it.meta["choices"])
            answers[it.id] = rng.choice([label, f"The answer is {label}.", f"Answer: ({'ABC'[it.meta['choices'].index(label)]})"])
        labels.append(label)
    gold = [it.target for it in items]
    res, parsed = score_benchmark(bench, items, answers)
    assert [p.pred or "<unreadable>" for p in parsed] == labels  # read as written
    macro = get_metric("macro_f1")([p.pred for p in parsed], gold, [{}] * len(gold))["score"]
    assert res["score"] == pytest.approx(100 * accuracy_score(gold, labels), abs=1e-9)
    assert macro == pytest.approx(100 * f1_score(gold, labels, average="macro", zero_division=0), abs=1e-9)
    assert res["options_per_item"] == {"3": len(items)}


def test_conventions_name_registered_metrics_and_cover_the_right_benchmarks():
    assert {"taiyi", "dutir", "promptcblue", "cblue", "lm-eval", "official"} <= set(conventions())
    assert applicable("KUAKE-QIC-dev", "cls")["promptcblue"] == "macro_f1"
    assert applicable("KUAKE-QIC-dev", "cls")["cblue"] == "label_accuracy"
    assert applicable("BC5CDR", "re")["official"] == "concept_f1"
    assert "promptcblue" not in applicable("HoC", "cls")


def test_lab_relation_rule_is_uncased_and_order_free():
    m = get_metric("pair_f1_uncased")
    gold = [[["CID", "Famotidine", "delirium"]]]
    assert m([[["cid", "DELIRIUM", "famotidine"]]], gold, [{}])["score"] == 100.0
    assert m([[["CID", "famotidine", "ulcers"]]], gold, [{}])["score"] == 0.0
    assert m([None], gold, [{}])["fp"] == 1


def test_lab_option_text_rule_needs_the_text():
    m = get_metric("option_text_accuracy")
    ctx = [{"answer": "Answer: yes", "lang": "en"}, {"answer": "A", "lang": "en"}, {"answer": "答案：否", "lang": "zh"}]
    assert m(["yes", "yes", "否"], ["yes", "yes", "否"], ctx)["correct"] == 2


def test_results_carry_conventions_ceilings_and_readings(pubmedqa):
    bench, items = pubmedqa
    answers = {it.id: f"**{it.target}**" for it in items}
    res, _ = score_benchmark(bench, items, answers)
    assert set(res["conventions"]) == {"taiyi", "dutir", "lm-eval"}
    assert res["conventions"]["lm-eval"] == {"metric": "accuracy", "score": 100.0}
    assert res["conventions"]["dutir"]["score"] == 0.0  # the lab's rule does not strip markdown
    assert res["oracle_ceiling"] == {"accuracy": 100.0, "option_text_accuracy": 100.0}
    assert res["readings"]["flexible"]["score"] == 100.0


def test_lab_classification_rule_reads_after_the_lead_phrase_and_skips_the_rest():
    m = get_metric("lead_phrase_label_f1")
    opts = [["治疗方案", "治疗方案"], ["病因分析", "病因分析"]]
    answers = ["上述文本被分类为：治疗方案", "类别：病因分析", "上述文本被分类为：病因 分析"]
    ctx = [{"answer": a, "lang": "zh", "meta": {"options": opts}} for a in answers]
    res = m([None] * 3, [["治疗方案"], ["病因分析"], ["治疗方案"]], ctx)
    assert (res["tp"], res["fp"], res["fn"], res["skipped"]) == (1, 1, 1, 1) and res["score"] == 50.0
    en = [{"answer": "Result: Case Report; Treatment", "lang": "en", "meta": {"options": [["Case_Report", "Case Report"],
                                                                                        ["Treatment", "Treatment"]]}}]
    assert m([None], [["Case_Report", "Treatment"]], en)["score"] == 100.0
    assert m([None], [["Treatment"]], [{"answer": "Treatment", "lang": "en", "meta": {}}])["score"] is None
