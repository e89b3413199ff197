"""The evaluation loop with a fake engine and fake codecs: scoring, parse failures, cache/resume, oracle, log-likelihood."""

from __future__ import annotations

import pytest

from taiyi.evaluate import runner
from taiyi.files import DataError

from taiyi.evaluate import items as eval_items
from tests.evaluate.eval_fakes import FakeEngine, FakeMcqaCodec, FakeNerCodec, install_tasks, write_eval_dir


@pytest.fixture()
def fake_codecs(monkeypatch):
    install_tasks(monkeypatch, {"ner": FakeNerCodec, "mcqa": FakeMcqaCodec})
    monkeypatch.setattr(eval_items, "n_phrasings", lambda task, lang: 2)


ANSWERS = {
    "Aspirin caused": "Chemical: Aspirin\nChemical: asthma",  # 1 tp, 1 fp
    "Cisplatin and": "I am not sure what you mean",  # unreadable: fp + 2 fn
    "No chemicals": "None",
    "Metformin": "Metformin (Chemical); glucose (Chemical)",  # 2 tp
    "NSAID": "Answer: yes",
    "water cure": "B",
}


def _cfg(tmp_path, **kw):
    return runner.EvalConfig(out=tmp_path / "report", benchmarks="BC5CDR-Chem,PubMedQA", model="fake",
                             eval_dir=write_eval_dir(tmp_path), progress=False, batch_size=3, **kw)


def test_scores_parse_failures_and_resume(tmp_path, fake_codecs):
    eng = FakeEngine(ANSWERS)
    scores = runner.run_eval(_cfg(tmp_path), engine=eng)
    ner = scores["benchmarks"]["BC5CDR-Chem"]
    assert (ner["strict"]["tp"], ner["strict"]["fp"], ner["strict"]["fn"]) == (3, 2, 2)
    assert ner["score"] == pytest.approx(60.0)
    assert ner["parse_failures"] == 1 and ner["parse_failure_examples"][0]["id"] == "BC5CDR-Chem:d2"
    assert ner["grounded"]["ungrounded"] == 1  # the unreadable answer; 'asthma' is in the text (wrong type)
    assert set(ner["per_template"]) == {"ner.en.01", "ner.en.02"}
    assert ner["worst"][0]["id"] == "BC5CDR-Chem:d2" and ner["worst"][0]["score"] == 0.0
    qa = scores["benchmarks"]["PubMedQA"]
    assert qa["score"] == pytest.approx(100.0)  # 'B' is the letter of 'no'
    assert qa["paper"]["taiyi"] == pytest.approx(54.4)
    assert eng.generated == 6 and max(eng.batches) <= 3

    # a re-run only re-scores: nothing is generated again, same scores
    eng2 = FakeEngine({})
    again = runner.run_eval(_cfg(tmp_path), engine=eng2)
    assert eng2.generated == 0
    assert again["benchmarks"]["BC5CDR-Chem"]["score"] == ner["score"]
    assert again["benchmarks"]["BC5CDR-Chem"]["cached"] == 4


def test_torn_last_line_is_regenerated(tmp_path, fake_codecs):
    runner.run_eval(_cfg(tmp_path), engine=FakeEngine(ANSWERS))
    pred = tmp_path / "report" / "predictions.jsonl"
    data = pred.read_bytes().rstrip(b"\n")
    pred.write_bytes(data[: data.rindex(b"\n") + 1] + data[data.rindex(b"\n") + 1 :][:20])  # interrupted write
    eng = FakeEngine(ANSWERS)
    scores = runner.run_eval(_cfg(tmp_path), engine=eng)
    assert eng.generated == 1
    assert scores["benchmarks"]["PubMedQA"]["score"] == pytest.approx(100.0)


def test_malformed_cache_line_and_other_model_are_clear_errors(tmp_path, fake_codecs):
    runner.run_eval(_cfg(tmp_path), engine=FakeEngine(ANSWERS))
    with pytest.raises(DataError, match="holds predictions of another run"):
        runner.run_eval(_cfg(tmp_path, max_new_tokens=7), engine=FakeEngine(ANSWERS))
    pred = tmp_path / "report" / "predictions.jsonl"
    pred.write_bytes(b"{not json\n" + pred.read_bytes())
    with pytest.raises(DataError, match=r"predictions.jsonl:1: malformed JSON"):
        runner.run_eval(_cfg(tmp_path), engine=FakeEngine(ANSWERS))


def test_oracle_is_100_in_every_phrasing(tmp_path, fake_codecs):
    scores = runner.run_eval(_cfg(tmp_path, oracle=True))
    for name, res in scores["benchmarks"].items():
        assert res["score"] == 100.0, name
        assert res["parse_failures"] == 0
    assert scores["benchmarks"]["BC5CDR-Chem"]["n_items"] == 8  # 4 items x 2 phrasings
    assert any(t.endswith("/answer1") for t in scores["benchmarks"]["BC5CDR-Chem"]["per_template"])


def test_codec_crash_on_odd_output_is_counted_not_raised(tmp_path, monkeypatch):
    class Crashy(FakeNerCodec):
        @staticmethod
        def parse(text, meta):
            raise IndexError("codec bug")

    install_tasks(monkeypatch, {"ner": Crashy})
    scores = runner.run_eval(_cfg(tmp_path).__class__(**{**_cfg(tmp_path).__dict__, "benchmarks": "BC5CDR-Chem"}),
                             engine=FakeEngine(ANSWERS))
    res = scores["benchmarks"]["BC5CDR-Chem"]
    assert res["parse_failures"] == 4 and res["score"] == 0.0
    assert "IndexError" in res["parse_failure_examples"][0]["error"]


def test_loglikelihood_mode_picks_most_likely_choice(tmp_path, fake_codecs):
    eng = FakeEngine({}, prefer="yes")
    scores = runner.run_eval(_cfg(tmp_path, mc_mode="loglikelihood"), engine=eng)
    qa = scores["benchmarks"]["PubMedQA"]
    assert qa["strict"]["correct"] == 1 and qa["score"] == pytest.approx(50.0)  # always 'yes'; gold yes, no
    assert eng.generated == 4  # only the NER items were generated


def test_missing_data_is_skipped_with_reason(tmp_path, fake_codecs):
    cfg = runner.EvalConfig(out=tmp_path / "r", benchmarks="HoC", model="fake", eval_dir=tmp_path / "none",
                            progress=False)
    scores = runner.run_eval(cfg, engine=FakeEngine({}))
    assert scores["benchmarks"] == {} and "no --data-root" in scores["skipped"]["HoC"]


def test_a_prompt_the_engine_rejects_is_a_counted_failure_not_a_crash(tmp_path, fake_codecs):
    class Picky(FakeEngine):
        def generate(self, conversations, params=None):
            if any("Metformin" in c[-1]["content"] for c in conversations):
                raise ValueError("the prompt has 9999 tokens; the model's context is 2048")
            return super().generate(conversations, params)

    scores = runner.run_eval(_cfg(tmp_path), engine=Picky(ANSWERS))
    ner = scores["benchmarks"]["BC5CDR-Chem"]
    assert ner["parse_failures"] == 2  # the unreadable answer + the rejected prompt
    assert any("context is 2048" in e["error"] for e in ner["parse_failure_examples"])
    assert scores["benchmarks"]["PubMedQA"]["score"] == 100.0
