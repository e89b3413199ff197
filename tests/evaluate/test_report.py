"""Report: scores.json, report.md with the paper's columns, per-type and per-template tables, and the PNG chart."""

from __future__ import annotations

from taiyi.evaluate import report, runner
from taiyi.files import read_json

from tests.evaluate.eval_fakes import FakeEngine, FakeMcqaCodec, FakeNerCodec, install_tasks, write_eval_dir


def test_report_files(tmp_path, monkeypatch):
    install_tasks(monkeypatch, {"ner": FakeNerCodec, "mcqa": FakeMcqaCodec})
    cfg = runner.EvalConfig(out=tmp_path / "rep", benchmarks="all", model="fake", eval_dir=write_eval_dir(tmp_path),
                            progress=False)
    scores = runner.run_eval(cfg, engine=FakeEngine({"Aspirin": "gibberish", "NSAID": "yes"}, default="None"))
    base_cfg = runner.EvalConfig(out=tmp_path / "rep" / "baseline", benchmarks="all", model="base",
                                 eval_dir=cfg.eval_dir, progress=False)
    scores["baseline"] = runner.run_eval(base_cfg, engine=FakeEngine({}, default="None"))
    paths = report.write_report(scores, tmp_path / "rep")
    on_disk = read_json(paths["scores"])
    assert set(on_disk["benchmarks"]) == {"BC5CDR-Chem", "PubMedQA"}
    from taiyi.evaluate import registry

    assert len(on_disk["skipped"]) == len(registry.benchmarks()) - 2  # every benchmark without an eval file
    md = paths["report"].read_text(encoding="utf-8")
    assert "| BC5CDR-Chem | ner | micro_f1 |" in md and "80.2" in md and "93.3 (PubMedBERT)" in md
    assert "baseline" in md and "Parse failures: 1 of 4" in md and "gibberish" in md
    assert "| Chemical |" in md and "| ner.en.01 |" in md
    png = paths["chart"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_report_names_conventions_ceilings_readings_and_options(tmp_path, monkeypatch):
    install_tasks(monkeypatch, {"ner": FakeNerCodec, "mcqa": FakeMcqaCodec})
    cfg = runner.EvalConfig(out=tmp_path / "rep", benchmarks="PubMedQA", model="fake", eval_dir=write_eval_dir(tmp_path),
                            progress=False)
    scores = runner.run_eval(cfg, engine=FakeEngine({"NSAID": "The answer is yes.", "water": "Answer: no"}))
    md = report.markdown(scores, "rep")
    assert "| lm-eval | accuracy | 100.0 | 100.0 |" in md and "| dutir | option_text_accuracy | 50.0 | 100.0 |" in md
    assert "Readings: flexible (headline) 100.0, 0 unreadable; strict" in md
    assert "Options per item: 3 options × 2" in md
