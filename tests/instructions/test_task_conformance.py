"""Every registered task against the same checks (as BigBio's generic dataset test does for datasets).

Registration is complete (unit, stage, budget, metrics that exist), the templates offer >= 20 distinct prompts per
language, ``parse(render(t)) == t`` for every real gold target of the converted shared corpus in every answer
phrasing (train and eval prompts), sloppy whitespace is forgiven, empty answers raise ``ParseError``, and the
task's own metrics give 100 on its gold targets. A new task gets all of this by registering.
"""

from __future__ import annotations

import random

import orjson
import pytest

from taiyi.evaluate.metrics import get_metric, metric_names
from taiyi.instructions.tasks.base import ParseError, load_templates
from taiyi.instructions.tasks.registry import BUILTIN, UNITS, get_task, task_names

from .raw_samples import corpus_records, with_dataset_facts

TASKS = task_names()
MAX_CASES = 40000  # distinct (meta, target) pairs checked per task; the whole shared corpus stays below it


def test_builtin_tasks_are_registered_in_order():
    assert TASKS[: len(BUILTIN)] == BUILTIN


@pytest.mark.parametrize("task", TASKS)
def test_registration_is_complete(task):
    t = get_task(task)
    assert t.name == task and t.unit in UNITS and t.stage in (1, 2) and t.max_new_tokens > 0
    assert t.metrics and set(t.metrics) <= set(metric_names()), t.metrics
    assert (t.templates_dir / f"{task}.en.yaml").is_file() and (t.templates_dir / f"{task}.zh.yaml").is_file()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("task", TASKS)
def test_at_least_20_distinct_prompts(task, lang):
    tpl = load_templates(task, lang)
    assert len({p["text"] for p in tpl.prompts}) >= 20
    assert tpl.answers and tpl.empty


def _key(meta: dict, target) -> bytes:
    return orjson.dumps([{k: v for k, v in meta.items() if k != "phrasing"}, target], option=orjson.OPT_SORT_KEYS)


@pytest.fixture(scope="module")
def real_cases(shared_corpus) -> dict[str, list[tuple[dict, object]]]:
    """Per task: the distinct (meta, target) pairs of its train and eval prompts over the whole converted corpus."""
    out: dict[str, list] = {}
    for task in TASKS:
        t, seen, cases = get_task(task), set(), []
        for n, (rec, info) in enumerate(with_dataset_facts(shared_corpus, t, corpus_records(shared_corpus, task))):
            for mode in ("eval", "train"):
                for inst in t.examples(rec, random.Random(n), info, mode=mode):
                    k = _key(inst.meta, inst.target)
                    if k not in seen and len(cases) < MAX_CASES:
                        seen.add(k)
                        cases.append((inst.meta, inst.target))
        out[task] = cases
    return out


@pytest.mark.parametrize("task", TASKS)
def test_round_trip_every_real_gold_target(task, real_cases):
    t, cases = get_task(task), real_cases[task]
    if not cases:
        pytest.skip(f"no dataset of the shared corpus lists task {task}")
    for meta, target in cases:
        n = len(load_templates(task, meta["lang"]).answers)
        for k in range(n):
            text = t.render(target, meta, k)
            assert t.parse(text, meta) == target, (task, meta, k, text)


@pytest.mark.parametrize("task", TASKS)
def test_sloppy_whitespace_and_empty_answers(task, real_cases):
    t = get_task(task)
    cases = real_cases[task][:200]
    if not cases:
        pytest.skip(f"no dataset of the shared corpus lists task {task}")
    for meta, target in cases:
        text = t.render(target, meta)
        assert t.parse(f"  {text}  \n\n", meta) == target, (task, text)
    meta = cases[0][0]
    for garbage in (None, "", "   \n "):
        with pytest.raises(ParseError):
            t.parse(garbage, meta)


@pytest.mark.parametrize("task", TASKS)
def test_own_metrics_give_100_on_gold(task, real_cases):
    from taiyi.evaluate.metrics import as_set

    t, cases = get_task(task), real_cases[task][:300]
    if not cases:
        pytest.skip(f"no dataset of the shared corpus lists task {task}")
    golds = [as_set(g) if t.unit == "document" else g for _, g in cases]
    ctx = [{"meta": m, "lang": m["lang"], "task": task, "text": ""} for m, _ in cases]
    for name in t.metrics:
        if name == "grounded_f1":
            continue  # needs the source text; checked by the oracle run of every benchmark
        assert get_metric(name)(golds, golds, ctx)["score"] == pytest.approx(100.0), name


# --- the metric registry: each metric against a hand-computed case -------------------------------------------

_E = [{"lang": "en"}]
HAND = {
    # 1 tp, 1 fp (unreadable doc 2 adds one element) and 1 fn: P = R = F1 = 50
    "micro_f1": ([[("Chem", "aspirin")], None], [[("Chem", "aspirin")], [("Dis", "asthma")]], None, 50.0),
    "label_f1": ([["a"], ["a", "b"], None], [["a"], ["b"], ["c"]], None, 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3) * 100),
    # per type: a: tp1 fp1 fn0 -> F1 2/3; b: tp1 -> 100; c: fn1 -> 0; unreadable: fp1 -> 0; mean = (66.7+100+0+0)/4
    "macro_f1": ([["a"], ["a", "b"], None], [["a"], ["b"], ["c"]], None, (200 / 3 + 100) / 4),
    # "Aspirin" grounds to the lower-case span: 1 tp; the hallucinated "ibuprofen" is a fp: P 50, R 100
    "grounded_f1": ([[("Chem", "Aspirin"), ("Chem", "ibuprofen")]], [[("Chem", "aspirin")]],
                    [{"text": "We gave aspirin."}], 2 * 0.5 / 1.5 * 100),
    # 'B' names the second choice 'no' (right); None is wrong
    "accuracy": (["B", None], ["no", "yes"], [{"meta": {"choices": ["yes", "no"]}}, {"meta": {}}], 50.0),
    # LCS("the cat sat", "the cat sat down") = 3: P 1, R 3/4 -> F 6/7; the unreadable answer scores 0
    "rouge_l": (["The cat sat.", None], ["the cat sat down", "x"], None, (6 / 7) * 100 / 2),
    # bag of tokens {beta, alpha} vs {alpha, beta}: F1 1
    "token_f1": (["beta alpha"], ["alpha beta"], None, 100.0),
    "bleu": (["the cat sat on the mat"], ["the cat sat on the mat"], None, 100.0),
    "chrf": (["the cat sat on the mat"], ["the cat sat on the mat"], None, 100.0),
    # a perfectly linear, then a reversed ranking
    "pearson": ([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], None, 100.0),
    "spearman": ([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], None, -100.0),
    # span: "aspirin" covers both annotated spans (tp 2); "gave" is placed at its first occurrence (fp 1): P 2/3, R 1
    "span_f1": ([[("Chem", "aspirin"), ("Chem", "gave")]], [[("Chem", "aspirin")]],
                [{"text": "We gave aspirin, then aspirin.", "meta": {"spans": [["Chem", 8, 15, "aspirin"],
                                                                               ["Chem", 22, 29, "aspirin"]]}}],
                2 * (2 / 3) / (5 / 3) * 100),
    # concept: "Famotidine" and "famotidine" are one MeSH id, so the other mention names the gold pair: tp 1;
    # "ulcers" maps to another id: fp 1 -> P 1/2, R 1
    "concept_f1": ([[("CID", "famotidine", "delirium"), ("CID", "famotidine", "ulcers")]],
                   [[("CID", "Famotidine", "delirium")]],
                   [{"meta": {"concepts": [["Chemical", "Famotidine", ["D1"]], ["Chemical", "famotidine", ["D1"]],
                                           ["Disease", "delirium", ["D2"]], ["Disease", "ulcers", ["D3"]]],
                              "concept_relations": [["CID", "D1", "D2"]]}}], 2 * 0.5 / 1.5 * 100),
    # lower-cased, order-insensitive pairs: the reversed pair is right, the unreadable answer one fp: P 1/2, R 1/2
    "pair_f1_uncased": ([[("cid", "Delirium", "famotidine")], None], [[("CID", "famotidine", "delirium")],
                                                                     [("CID", "a", "b")]], None, 50.0),
    # the option text after "Answer:" is right, a bare letter is not
    "option_text_accuracy": (["yes", "yes"], ["yes", "yes"], [{"answer": "Answer: yes"}, {"answer": "A"}], 50.0),
    # exact label sets: {a} right, {a, b} for {b} wrong, unreadable wrong
    "label_accuracy": ([["a"], ["a", "b"], None], [["a"], ["b"], ["c"]], None, 100 / 3),
    # after the lead phrase: tp 2 (Treatment twice), fp 1 (Diagnosis), fn 1 (Prevention); the answer without one is
    # skipped: P = R = 2/3
    "lead_phrase_label_f1": ([None, None, None], [["Treatment", "Prevention"], ["Treatment"], ["Treatment"]],
                             [{"answer": "Result: Treatment; Diagnosis", "lang": "en"}, {"answer": "Treatment"},
                              {"answer": "Result: Treatment", "lang": "en"}], 2 * (2 / 3) * (2 / 3) / (4 / 3) * 100),
}


@pytest.mark.parametrize("name", metric_names())
def test_every_metric_has_a_definition_and_a_hand_computed_case(name):
    m = get_metric(name)
    assert len(m.definition) > 40
    assert name in HAND, f"add a hand-computed case for metric {name}"
    preds, golds, ctx, want = HAND[name]
    assert m(preds, golds, ctx)["score"] == pytest.approx(want)


def test_unreadable_answer_is_wrong_for_every_metric():
    for name in ("micro_f1", "label_f1", "accuracy", "rouge_l", "token_f1", "bleu", "chrf"):
        golds = [["a"]] if name in ("micro_f1", "label_f1") else ["a b c"]
        assert get_metric(name)([None], golds, [{}])["score"] == 0.0, name
    assert get_metric("micro_f1")([None], [[]], [{}])["score"] == 0.0  # even when nothing was to be found
