"""End to end through ``taiyi eval``: the oracle on the real data (and on CHEMDNER / LitCovid files written here in
their real formats), a tiny CPU model with report and chart, and an OpenAI-compatible endpoint vs in-process.

Pieces built by other stages (readers, codecs, engines, server) are checked first; while one is missing the
affected test skips and says which, so it starts running by itself when the piece lands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.evaluate import registry
from taiyi.files import read_json, read_jsonl

ABSENT_FROM_SHARED = {"CHEMDNER", "BC7-LitCovid"}


def run_cli(*args: str) -> str:
    res = CliRunner().invoke(app, ["eval", *args, "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def real_eval_dir(shared_datasets, tmp_path_factory):
    """Every present benchmark's items built once from the raw files of ../shared/datasets (as ``--data-root``
    does, each dataset read once) and written as ``instructions/eval/<benchmark>.jsonl``."""
    from taiyi.evaluate import runner
    from taiyi.instructions.benchmarks import write_eval_file

    present = [b for b in registry.benchmarks() if b not in ABSENT_FROM_SHARED]
    out, datasets = tmp_path_factory.mktemp("eval"), {}
    for bench in registry.select(present):
        write_eval_file(out / f"{bench.name}.jsonl",
                        runner.load_items(bench, data_root=shared_datasets, datasets=datasets))
    return out, present


def test_oracle_is_100_on_every_benchmark_of_the_real_data(real_eval_dir, tmp_path):
    eval_dir, ok = real_eval_dir
    assert len(ok) == 15
    out = tmp_path / "oracle"
    run_cli("--oracle", "--benchmarks", "all", "--eval-dir", str(eval_dir), "--out", str(out))
    scores = read_json(out / "scores.json")
    assert set(scores["benchmarks"]) == set(ok), scores["skipped"]
    for name, res in scores["benchmarks"].items():
        assert res["score"] == 100.0, (name, res["parse_failure_examples"], res["worst"])
        assert res["parse_failures"] == 0 and res["n_items"] > 0
        if "grounded" in res:
            assert res["grounded"]["f1"] == 100.0, name


def write_chemdner(root: Path) -> None:
    """BioCreative IV CHEMDNER: abstracts ``PMID\\tTitle\\tAbstract``, annotations ``PMID\\tT|A\\tstart\\tend\\tmention\\ttype``."""
    from taiyi.sources.catalog import get_entry

    entry = get_entry("chemdner")
    folder = root / entry.path
    docs = [
        ("21826085", "Aspirin and paracetamol in fever.", "Both aspirin and NaCl were compared with ibuprofen."),
        ("22080034", "Metformin lowers glucose.", "Treatment with metformin hydrochloride (MH) was safe."),
        ("23000001", "A study of nothing chemical.", "No compounds were named here."),
    ]
    for split, files in entry.reader_options["files"].items():
        abstracts, annotations = (folder / f for f in files)
        folder.mkdir(parents=True, exist_ok=True)
        lines, anns = [], []
        for pmid, title, abstract in docs:
            pmid = pmid + {"train": "1", "dev": "2"}.get(split, "")  # PMIDs unique across the dataset
            lines.append(f"{pmid}\t{title}\t{abstract}")
            for where, text in (("T", title), ("A", abstract)):
                for mention, typ in (("Aspirin", "TRIVIAL"), ("aspirin", "TRIVIAL"), ("paracetamol", "TRIVIAL"),
                                     ("NaCl", "FORMULA"), ("ibuprofen", "TRIVIAL"), ("Metformin", "TRIVIAL"),
                                     ("glucose", "TRIVIAL"), ("metformin hydrochloride", "SYSTEMATIC"),
                                     ("MH", "ABBREVIATION")):
                    s = text.find(mention)
                    if s >= 0:
                        anns.append(f"{pmid}\t{where}\t{s}\t{s + len(mention)}\t{mention}\t{typ}")
        abstracts.write_text("\n".join(lines) + "\n", encoding="utf-8")
        annotations.write_text("\n".join(anns) + "\n", encoding="utf-8")


def write_litcovid(root: Path) -> None:
    """BC7 LitCovid track 5 CSV: pmid,journal,title,abstract,keywords,pub_type,authors,doi,label (';'-separated)."""
    import csv

    from taiyi.sources.catalog import get_entry

    entry = get_entry("bc7_litcovid")
    folder = root / entry.path
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        ("32511222", "Lancet", "Remdesivir for COVID-19", "A trial of remdesivir in hospitalised adults.", "remdesivir",
         "Journal Article", "Smith J", "10.1/x1", "Treatment"),
        ("32511223", "BMJ", "Masks and spread", "Masks reduce transmission of SARS-CoV-2 in households.", "masks",
         "Journal Article", "Li W", "10.1/x2", "Prevention;Transmission"),
        ("32511224", "JAMA", "A case of COVID-19 myocarditis", "We report a patient with myocarditis.", "",
         "Case Reports", "Doe A", "10.1/x3", "Case Report;Diagnosis"),
    ]
    for split, name in entry.reader_options["files"].items():
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["pmid", "journal", "title", "abstract", "keywords", "pub_type", "authors", "doi", "label"])
            for r in rows:
                w.writerow([r[0] + {"train": "1", "dev": "2", "test": ""}.get(split, ""), *r[1:]])


def test_oracle_on_chemdner_and_litcovid_files_in_their_real_formats(tmp_path):
    root = tmp_path / "data"
    write_chemdner(root)
    write_litcovid(root)
    out = tmp_path / "oracle"
    run_cli("--oracle", "--benchmarks", "CHEMDNER,BC7-LitCovid", "--data-root", str(root), "--out", str(out))
    scores = read_json(out / "scores.json")
    assert set(scores["benchmarks"]) == ABSENT_FROM_SHARED, scores["skipped"]
    assert scores["benchmarks"]["CHEMDNER"]["n_documents"] >= 3 * 2  # 3 test docs x phrasings
    for name, res in scores["benchmarks"].items():
        assert res["score"] == 100.0 and res["parse_failures"] == 0, (name, res["worst"])


def test_tiny_model_end_to_end_writes_report_chart_and_parse_failures(real_eval_dir, tiny_model_dir, tmp_path):
    """The issue's check: a tiny CPU model through every present benchmark at --limit 20."""
    eval_dir, ok = real_eval_dir
    out = tmp_path / "tiny"
    args = ["--model", str(tiny_model_dir), "--benchmarks", ",".join(ok), "--eval-dir", str(eval_dir),
            "--limit", "20", "--max-new-tokens", "6", "--batch-size", "16", "--out", str(out)]
    text = run_cli(*args)
    assert "parse failures" in text
    scores = read_json(out / "scores.json")
    assert set(scores["benchmarks"]) == set(ok)
    for res in scores["benchmarks"].values():
        low = -100 if next(iter(res["metrics"])) in ("pearson", "spearman") else 0  # a random model's correlation may be < 0
        assert low <= res["score"] <= 100 and res["parse_failures"] <= res["n_items"]
        assert res["generated"] == res["n_items"]
    assert (out / "scores.png").read_bytes()[:4] == b"\x89PNG"
    assert "parse failures" in (out / "report.md").read_text(encoding="utf-8").lower()
    n_pred = sum(1 for _ in read_jsonl(out / "predictions.jsonl"))
    assert n_pred == sum(r["n_items"] for r in scores["benchmarks"].values())
    # re-run: answers come from the cache, scores identical
    run_cli(*args)
    again = read_json(out / "scores.json")
    assert {b: r["score"] for b, r in again["benchmarks"].items()} == {b: r["score"] for b, r in scores["benchmarks"].items()}
    assert all(r["generated"] == 0 for r in again["benchmarks"].values())


def test_endpoint_gives_the_same_scores_as_in_process(real_eval_dir, tiny_model_dir, tmp_path):
    """`taiyi serve`'s app (real uvicorn on 127.0.0.1) vs the in-process engine: same answers, same scores."""
    import taiyi.infer.server as server
    from taiyi.infer.engine import load_engine

    eval_dir, _ = real_eval_dir
    ok = ["NCBI-disease", "HoC", "PubMedQA", "BC5CDR"]
    common = ["--benchmarks", ",".join(ok), "--eval-dir", str(eval_dir), "--limit", "2", "--max-new-tokens", "6"]
    engine = load_engine(str(tiny_model_dir))
    try:
        with server.ServerThread(server.create_app(engine)) as srv:
            run_cli("--endpoint", f"{srv.url}/v1", *common, "--out", str(tmp_path / "remote"))
    finally:
        engine.close()
    run_cli("--model", str(tiny_model_dir), *common, "--out", str(tmp_path / "local"))
    local = read_json(tmp_path / "local" / "scores.json")["benchmarks"]
    remote = read_json(tmp_path / "remote" / "scores.json")["benchmarks"]
    assert set(local) == set(ok)
    assert {b: r["score"] for b, r in local.items()} == {b: r["score"] for b, r in remote.items()}
    pl = {r["id"]: r["answer"] for r in read_jsonl(tmp_path / "local" / "predictions.jsonl")}
    pr = {r["id"]: r["answer"] for r in read_jsonl(tmp_path / "remote" / "predictions.jsonl")}
    assert pl == pr and len(pl) == sum(r["n_items"] for r in local.values())


def test_multiple_choice_by_loglikelihood_on_the_tiny_model(real_eval_dir, tiny_model_dir, tmp_path):
    eval_dir, _ = real_eval_dir
    out = tmp_path / "ll"
    run_cli("--model", str(tiny_model_dir), "--benchmarks", "PubMedQA", "--eval-dir", str(eval_dir), "--limit", "4",
            "--mc-mode", "loglikelihood", "--out", str(out))
    res = read_json(out / "scores.json")["benchmarks"]["PubMedQA"]
    assert res["parse_failures"] == 0 and res["n_items"] == 4  # a chosen option always reads back
    rows = list(read_jsonl(out / "predictions.jsonl"))
    assert all(r["mode"] == "loglikelihood" and len(r["choice_logprobs"]) == 3 for r in rows)
    assert all(r["answer"] in ("yes", "no", "maybe") for r in rows)
    # the chosen option is the most likely one
    for r in rows:
        assert r["choice_logprobs"].index(max(r["choice_logprobs"])) == ["yes", "no", "maybe"].index(r["answer"])
