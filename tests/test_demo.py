"""The demo pipeline end to end at CI size (``taiyi demo --quick``): every stage runs and the report is written.

The full-size bar (parse failures <= 10 %, extraction F1 > 0 after stage 2) is checked by ``make demo`` itself;
here the model is too small and too briefly trained to be held to it, so the test checks the plumbing and the
figures' consistency instead.
"""

from pathlib import Path

import pytest

from taiyi.demo import DemoResult, run_demo


@pytest.mark.slow
def test_quick_demo_runs_every_stage(tmp_path: Path):
    res = run_demo(tmp_path / "demo", quick=True, progress=False)
    out = res.out
    for f in ("corpus/manifest.json", "instructions/stage1.jsonl", "instructions/stage2.jsonl",
              "instructions/eval/mini-NER-en.jsonl", "report.md", "loss.png", "scores.png",
              "eval/stage1/scores.json", "eval/stage2/report.md", "eval/stage2/scores.png"):
        assert (out / f).is_file(), f
    assert set(res.scores) == {"stage1", "stage2"}
    bench = res.scores["stage2"]["benchmarks"]
    assert {"mini-NER-en", "mini-RE-en", "mini-NER-zh", "mini-CLS-en", "mini-CLS-zh", "mini-MCQA-en", "mini-MCQA-zh"} <= set(bench)
    n = sum(b["n_items"] for b in bench.values())
    assert res.parse_failure_rate == pytest.approx(sum(b["parse_failures"] for b in bench.values()) / n)
    assert res.chat[0] and isinstance(res.chat[1], str)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| mini-NER-en | ner |" in report and "stage 1 vs stage 2" in report
    assert set(res.seconds) == {"convert", "build", "train", "eval", "chat"}


def test_demo_bar():
    ok = DemoResult(out=Path("."), parse_failure_rate=0.05, extraction_f1=12.0)
    assert ok.passed
    assert not DemoResult(out=Path("."), parse_failure_rate=0.2, extraction_f1=12.0).passed
    assert not DemoResult(out=Path("."), parse_failure_rate=0.0, extraction_f1=0.0).passed
