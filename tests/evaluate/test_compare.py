"""taiyi compare: two models' answers to the same prompts side by side in one self-contained HTML page."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.evaluate import compare
from taiyi.files import DataError
from tests.evaluate.eval_fakes import FakeEngine


def test_page_from_prompt_file_with_fake_engines(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a1", "prompt": "Is <b>aspirin</b> an NSAID?", "gold": "yes"}\n'
                       '{"messages": [{"role": "user", "content": "阿司匹林是什么？"}]}\n', encoding="utf-8")
    out = compare.compare("model-A", "http://127.0.0.1:1/v1", prompts=prompts, out=tmp_path / "c.html",
                          engines=(FakeEngine({"aspirin": "Yes, it is."}, default="同"),
                                   FakeEngine({"aspirin": "No <script>"}, default="同")))
    page = out.read_text(encoding="utf-8")
    assert "&lt;b&gt;aspirin&lt;/b&gt;" in page and "No &lt;script&gt;" in page  # escaped, nothing executable
    assert "<script" not in page and "http" not in page.replace("http://127.0.0.1:1/v1", "")
    assert "Yes, it is." in page and "阿司匹林是什么？" in page and "1 identical answers" in page
    assert "<th>gold</th>" in page


def test_bad_prompt_file_names_the_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: expected a 'prompt'"):
        compare.read_prompts(p)


def test_cli_with_the_tiny_model(tiny_model_dir, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("What is asthma?\n糖尿病的症状有哪些？\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["compare", "--a", str(tiny_model_dir), "--b", str(tiny_model_dir), "--prompts",
                                   str(prompts), "--max-new-tokens", "5", "--out", str(tmp_path / "c.html")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "2 identical answers" in page  # same model, greedy: same answers
