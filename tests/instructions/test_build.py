"""taiyi build on a small synthetic corpus (fake codec) and, when available, on the real converted datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import fake_codec
from taiyi.corpus.schema import make_passages, new_record
from taiyi.files import DataError, read_jsonl, write_json, write_jsonl
from taiyi.instructions.build import build
from taiyi.instructions.config import parse_config
from taiyi.instructions.decontaminate import doc_key


def kb(dataset, split, rid, doc, text_ents, lang="en"):
    text = " ".join(m for _, m in text_ents) + " is discussed in this abstract about patients."
    ents, pos = [], 0
    for i, (t, m) in enumerate(text_ents):
        ents.append({"id": f"e{i}", "type": t, "text": [m], "offsets": [[pos, pos + len(m)]], "normalized": []})
        pos += len(m) + 1
    return new_record("kb", id=rid, document_id=doc, dataset=dataset, split=split, lang=lang,
                      passages=make_passages([("abstract", text)]), entities=ents)


def make_corpus(root: Path) -> Path:
    c = root / "corpus"
    names = {"Chemical": {"en": "chemical", "zh": "化学物质"}, "Disease": {"en": "disease", "zh": "疾病"}}
    # bc5cdr: train + test (test = BC5CDR-Chem / -Dise benchmarks)
    write_jsonl(c / "bc5cdr" / "train.jsonl", [kb("bc5cdr", "train", f"t{i}", str(100000 + i), [("Chemical", f"drug{i}"), ("Disease", f"illness{i}")]) for i in range(20)])
    write_jsonl(c / "bc5cdr" / "test.jsonl", [kb("bc5cdr", "test", f"x{i}", str(900000 + i), [("Chemical", f"evaldrug{i}")]) for i in range(5)])
    write_json(c / "bc5cdr" / "meta.json", {"name": "bc5cdr", "lang": "en", "tasks": ["ner"], "label_names": names})
    # another dataset sharing a test PMID (-> contaminated_document) and an exact duplicate record
    other = [kb("ncbi_like", "train", "n1", "PMID:900001", [("Disease", "flu")]),
             kb("ncbi_like", "train", "n2", "555", [("Disease", "cold")]),
             kb("ncbi_like", "train", "n3", "556", [("Disease", "cold")])]
    write_jsonl(c / "ncbi_like" / "train.jsonl", other)
    write_json(c / "ncbi_like" / "meta.json", {"name": "ncbi_like", "lang": "en", "tasks": ["ner"], "label_names": names})
    # KUAKE-QIC: zh classification, dev is the benchmark split
    qic = lambda split, i, lab: new_record("text", id=f"{split}{i}", document_id=f"{split}{i}", dataset="KUAKE-QIC", split=split, lang="zh", text=f"糖尿病第{i}号病人应该吃什么药比较好呢", labels=[lab])
    write_jsonl(c / "KUAKE-QIC" / "train.jsonl", [qic("train", i, "治疗方案") for i in range(10)])
    write_jsonl(c / "KUAKE-QIC" / "dev.jsonl", [qic("dev", i, "病情诊断") for i in range(50, 54)])
    write_json(c / "KUAKE-QIC" / "meta.json", {"name": "KUAKE-QIC", "lang": "zh", "tasks": ["cls"], "label_names": {}})
    # qa (stage 2 only)
    qa = [new_record("qa", id=f"q{i}", document_id=f"q{i}", dataset="med_qa", split="train", lang="en", question=f"Which drug treats condition number {i}?", type="multiple_choice", choices=["a", "b"], answer=["a"]) for i in range(6)]
    write_jsonl(c / "med_qa" / "train.jsonl", qa)
    write_json(c / "med_qa" / "meta.json", {"name": "med_qa", "lang": "en", "tasks": ["mcqa"], "label_names": {}})
    # biored: zero-shot -> never trained on
    write_jsonl(c / "biored" / "train.jsonl", [kb("biored", "train", "b1", "700001", [("ChemicalEntity", "x")])])
    write_jsonl(c / "biored" / "test.jsonl", [kb("biored", "test", "b2", "700002", [("ChemicalEntity", "y")])])
    write_json(c / "biored" / "meta.json", {"name": "biored", "lang": "en", "tasks": ["ner"], "label_names": {}})
    return c


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    fake_codec.install(monkeypatch)
    return make_corpus(tmp_path)


def _rows(path):
    return list(read_jsonl(path))


def test_build_writes_stages_eval_stats_manifest(corpus, tmp_path):
    chat = tmp_path / "chat.jsonl"
    write_jsonl(chat, [{"messages": [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi, how can I help?"}]},
                       {"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！有什么可以帮你？"}]}])
    cfg = parse_config({"general_chat": [{"path": str(chat)}]})
    out = tmp_path / "instructions"
    man = build(cfg, corpus, out, progress=False)
    s1, s2 = _rows(out / "stage1.jsonl"), _rows(out / "stage2.jsonl")
    assert {r["task"] for r in s1} == {"ner", "cls"}
    assert {r["task"] for r in s2} == {"ner", "cls", "mcqa", "dialogue"}
    ids1 = {r["id"] for r in s1}
    assert ids1 <= {r["id"] for r in s2} and len(ids1) == len(s1)  # stage 2 = stage 1 + QA + dialogue
    assert all(r["stage"] == "1" for r in s1) and all(r["stage"] == "2" for r in s2)
    for r in s1:
        assert set(r) >= {"id", "dataset", "task", "lang", "stage", "template_id", "document_id", "meta", "messages"}
        assert "target" not in r
    assert not any(r["dataset"] == "biored" for r in s2)
    # eval files: benchmarks whose dataset is present
    assert sorted(p.stem for p in (out / "eval").glob("*.jsonl")) == ["BC5CDR-Chem", "BC5CDR-Dise", "BioRED", "KUAKE-QIC-dev"]
    chem = _rows(out / "eval" / "BC5CDR-Chem.jsonl")
    assert len(chem) == 5 and chem[0]["target"] == [["Chemical", "evaldrug0"]]
    # contamination: the PMID shared with bc5cdr test is gone; exact duplicate removed
    dropped = man["stats"]["dropped"]
    assert dropped["contaminated_document"] == 1
    assert dropped.get("duplicate_exact", 0) + dropped.get("duplicate_near", 0) == 1  # n2 / n3 say the same
    assert not any(r["document_id"] == "PMID:900001" for r in s2)
    md = (out / "stats.md").read_text()
    assert "Named Entity Recognition" in md and "Text Classification" in md and "General dialogue data" in md
    assert "contaminated_document" in md and "## Stage 2" in md
    assert man["outputs"]["stage1.jsonl"]["records"] == len(s1)
    assert any(i["path"].endswith("bc5cdr/train.jsonl") for i in man["inputs"])
    assert not list(out.glob(".shards*")) and not list(tmp_path.glob(".instructions*"))


def test_no_training_record_shares_a_document_with_eval(corpus, tmp_path):
    out = tmp_path / "out"
    build(parse_config({}), corpus, out, progress=False)
    eval_docs = {doc_key({"dataset": r["dataset"], "document_id": r["document_id"]})
                 for p in (out / "eval").glob("*.jsonl") for r in read_jsonl(p)}
    train_docs = {doc_key({"dataset": r["dataset"], "document_id": r["document_id"]}) for r in read_jsonl(out / "stage2.jsonl")}
    assert eval_docs and train_docs and not (eval_docs & train_docs)


def test_deterministic_and_num_proc_independent(corpus, tmp_path):
    cfg = {"prompts_per_record": 2, "seed": 7}
    build(parse_config(cfg), corpus, tmp_path / "a", progress=False)
    build(parse_config(cfg), corpus, tmp_path / "b", progress=False, num_proc=2)
    for f in ("stage1.jsonl", "stage2.jsonl", "eval/BC5CDR-Chem.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_caps_weights_stages_and_quality(corpus, tmp_path):
    cfg = parse_config({"caps": {"bc5cdr": 3}, "weights": {"KUAKE-QIC": 0}, "stages": {1: ["ner"], 2: "all"},
                        "max_tokens": 10_000})
    man = build(cfg, corpus, tmp_path / "o", progress=False)
    s1 = _rows(tmp_path / "o" / "stage1.jsonl")
    assert {r["task"] for r in s1} == {"ner"}
    assert sum(r["dataset"] == "bc5cdr" for r in s1) == 3
    assert man["stats"]["skipped_datasets"]["KUAKE-QIC"] == "weight 0"
    man = build(parse_config({"max_tokens": 20}), corpus, tmp_path / "p", progress=False, allow_empty=True)
    assert man["stats"]["dropped"]["too_long"] > 0


def test_broken_answers_are_dropped_and_counted(corpus, tmp_path, monkeypatch):
    from taiyi.instructions.tasks.registry import get_task

    codec = get_task("cls")  # the fake installed by the corpus fixture
    orig = codec.examples

    def bad(record, rng, info, mode="train"):
        out = orig(record, rng, info, mode)
        for inst in out:
            inst.messages[-1]["content"] = "something: else: entirely"
        return out

    monkeypatch.setattr(codec, "examples", bad)
    man = build(parse_config({}), corpus, tmp_path / "o", progress=False)
    assert man["stats"]["dropped"]["broken"] == 10
    assert not any(r["task"] == "cls" for r in read_jsonl(tmp_path / "o" / "stage1.jsonl"))


def test_failure_leaves_no_output(corpus, tmp_path):
    (corpus / "bc5cdr" / "train.jsonl").write_text('{"id": "ok"}\n{broken\n')
    with pytest.raises(DataError, match=r"train.jsonl:1: record ok: missing key"):  # checked as convert checks
        build(parse_config({}), corpus, tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_unknown_dataset_in_config(corpus, tmp_path):
    with pytest.raises(DataError, match="nope"):
        build(parse_config({"datasets": ["nope"]}), corpus, tmp_path / "o", progress=False)


def test_real_codecs_on_converted_datasets(shared_corpus, tmp_path):
    """Integration: the real codecs on ../shared/datasets converted: both stages, stats.md naming every task type
    the training splits hold, every benchmark whose data is present, no document shared with an eval record."""
    from taiyi.files import read_json
    from taiyi.instructions.benchmarks import load_benchmarks, zero_shot_datasets
    from taiyi.instructions.stats import TASK_TYPES

    cfg = parse_config({"caps": {"default": 200}, "eval_limit": 50, "dedup": {"near": False}})
    out = tmp_path / "real"
    man = build(cfg, shared_corpus, out, progress=False, num_proc=2)
    assert man["outputs"]["stage1.jsonl"]["records"] > 0 and man["outputs"]["stage2.jsonl"]["records"] > 0
    zero_shot = zero_shot_datasets()
    trained_tasks = {t for d in shared_corpus.iterdir() if (d / "train.jsonl").is_file() and d.name not in zero_shot
                     for t in read_json(d / "meta.json")["tasks"]}
    assert {"ner", "re", "ee", "cls", "pair", "mt", "mcqa", "qa", "dialogue"} <= trained_tasks
    stats = (out / "stats.md").read_text(encoding="utf-8")
    for task in trained_tasks:
        assert f"| {TASK_TYPES[task]} |" in stats, task
    present = {b.name for b in load_benchmarks().values() if b.find_dataset(shared_corpus)}
    assert {p.stem for p in (out / "eval").glob("*.jsonl")} == present and len(present) == 15
    eval_docs = {doc_key(r) for p in (out / "eval").glob("*.jsonl") for r in read_jsonl(p)}
    assert not eval_docs & {doc_key(r) for r in read_jsonl(out / "stage2.jsonl")}
