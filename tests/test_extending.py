"""docs/extending.md, followed literally: a new task from one module + two template files in a temp dir.

The task module, the template phrasings and the benchmark entry are taken from the doc's own code blocks, so the
doc and this test cannot drift apart. The task is registered through ``$TAIYI_TASKS`` (no file of Taiyi is
edited), a catalog entry listing it is accepted, a dataset listing it is built into instructions, and the
benchmark made of it scores 100 with ``taiyi eval --oracle``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from taiyi.files import read_json, read_jsonl

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "extending.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## A new task"): DOC.index("## A new metric")]


def _blocks(lang: str) -> list[str]:
    return [textwrap_dedent(b) for b in re.findall(rf"```{lang}\n(.*?)```", SECTION, flags=re.S)]


def textwrap_dedent(s: str) -> str:
    import textwrap

    return textwrap.dedent(s)


def _templates(lang: str) -> dict:
    doc = yaml.safe_load(_blocks("yaml")[0])  # the doc's template file: answers and empty as written
    first = {"en": "Give the first sentence of this text", "zh": "请给出这段文字的第一句话"}[lang]
    prompts = [{"id": f"lead.{lang}.{i:02d}", "text": f"{first} (#{i}).\n{{text}}"} for i in range(20)]
    return {"prompts": prompts, "answers": doc["answers"], "empty": doc["empty"]}


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "taiyi.cli", *args], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def test_new_task_from_the_doc_builds_and_scores_100_with_the_oracle(tmp_path):
    # 1-2: one module and two template files, in a folder outside the package
    tasks = tmp_path / "my_tasks"
    tasks.mkdir()
    (tasks / "lead.py").write_text(_blocks("python")[0], encoding="utf-8")
    for lang in ("en", "zh"):
        (tasks / f"lead.{lang}.yaml").write_text(yaml.safe_dump(_templates(lang), allow_unicode=True), encoding="utf-8")
    # 3: registered through the environment
    env = {**os.environ, "TAIYI_TASKS": str(tasks / "lead.py"), "PYTHONPATH": str(REPO / "src")}
    # the catalog accepts an entry listing the task (it reads the task registry)
    entry = {"name": "my_corpus", "lang": "en", "paper_tasks": ["TT-ds"], "tasks": ["lead"], "schema": "text",
             "splits": {"train": 6, "test": 3}, "path": "my_corpus",
             "reader": {"name": "conll", "options": {"files": {"train": "train.tsv"}}},
             "status": "supported", "in_paper": False}
    (tmp_path / "my_corpus.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
    check = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from taiyi.sources.catalog "
                            "import check_entry, load_entry; print(check_entry(load_entry(Path(sys.argv[1])).data, "
                            "Path(sys.argv[1])))", str(tmp_path / "my_corpus.yaml")],
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.strip() == "[]", check.stdout + check.stderr

    # 4: a converted dataset that lists it
    ds = tmp_path / "corpus" / "my_corpus"
    ds.mkdir(parents=True)
    (ds / "meta.json").write_text(json.dumps({k: entry[k] for k in ("name", "lang", "tasks", "schema")}))
    texts = {
        "train": ["Aspirin reduces fever. It is cheap.", "Insulin lowers glucose! Patients inject it.",
                  "Statins lower cholesterol. They are widely used.", "Malaria is spread by mosquitoes. Nets help.",
                  "Vaccines prevent disease. Most are injected.", "Smoking harms the lungs. Quitting helps."],
        "test": ["Metformin treats diabetes. It is taken orally.", "Penicillin kills bacteria? Some resist it.",
                 "Sleep restores the brain. Adults need about eight hours."],
    }
    for split, ts in texts.items():
        with open(ds / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for i, t in enumerate(ts):
                fh.write(json.dumps({"id": f"{split}{i}", "document_id": f"{split}{i}", "dataset": "my_corpus",
                                     "split": split, "lang": "en", "schema": "text", "text": t, "labels": []}) + "\n")
    # 5: the benchmark entry of the doc, in our own benchmarks file
    bench = tmp_path / "my_benchmarks.yaml"
    bench.write_text(_blocks("yaml")[1], encoding="utf-8")
    cfg = tmp_path / "build.yaml"
    cfg.write_text(yaml.safe_dump({"benchmarks": str(bench), "dedup": {"near": False}}), encoding="utf-8")

    _run("build", "--config", str(cfg), "--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "instr"), "-q",
         env=env)
    stage1 = [r for r in read_jsonl(tmp_path / "instr" / "stage1.jsonl") if r["task"] == "lead"]
    assert len(stage1) == 6 and stage1[0]["template_id"].startswith("lead.en.")
    eval_items = list(read_jsonl(tmp_path / "instr" / "eval" / "Lead-en.jsonl"))
    assert [r["target"] for r in eval_items][0] == "Metformin treats diabetes."

    _run("eval", "--oracle", "--benchmark-set", str(bench), "--eval-dir", str(tmp_path / "instr" / "eval"),
         "--out", str(tmp_path / "report"), env=env)
    scores = read_json(tmp_path / "report" / "scores.json")["benchmarks"]["Lead-en"]
    assert scores["score"] == 100.0 and scores["metric"] == "rouge_l"
    assert scores["metrics"] == {"rouge_l": 100.0, "token_f1": 100.0}
    assert scores["n_items"] == 3 * 2  # three test texts, each in both answer phrasings
