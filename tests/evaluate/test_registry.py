"""Benchmark registry: the paper's 13 + BioRED (joined with the published numbers) and the benchmarks we added."""

from __future__ import annotations

import pytest

from taiyi.evaluate import registry


ADDED = {"CHIP-CDN-dev", "BioNLP-GE11-dev", "BIOSSES"}  # normalisation, BioNLP events, similarity (issue 11)


def test_all_fourteen_benchmarks_with_paper_numbers():
    reg = registry.benchmarks()
    assert set(reg) - ADDED == {b.name for b in reg.values() if b.paper_key} and len(reg) == 14 + len(ADDED)
    for name in ("BC5CDR-Chem", "CHEMDNER", "CMeIE-dev", "BC7-LitCovid", "MedQA-MCMLE", "BioRED"):
        assert name in reg
    paper = registry.paper_row
    assert paper(reg["BC5CDR-Chem"]).taiyi == pytest.approx(80.2)
    assert reg["BC5CDR"].task == "re" and paper(reg["BC5CDR"]).sota_system == "BioGPT"
    assert paper(reg["BioRED"]).sota is None and reg["BioRED"].zero_shot
    assert reg["PubMedQA"].metric_names == ("accuracy",) and reg["HoC"].metric_names[0] == "micro_f1"
    assert reg["CMeEE-dev"].metric_names == ("micro_f1", "grounded_f1", "span_f1")
    assert reg["BC5CDR"].metric_names == ("micro_f1", "grounded_f1", "concept_f1")
    # the paper's 13 + BioRED each have a row; the average row is exposed separately
    assert registry.paper_average().taiyi == pytest.approx(65.1)


def test_select_names_and_unknown():
    assert [b.name for b in registry.select("hoc, PubMedQA")] == ["HoC", "PubMedQA"]
    assert len(registry.select("all")) == 14 + len(ADDED)
    with pytest.raises(KeyError, match="unknown benchmark 'NoSuch'"):
        registry.select("NoSuch")


def test_a_benchmark_metric_must_be_registered(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text("benchmarks:\n  - {name: Q, dataset: d, split: test, task: qa, lang: en, metric: rouge_x}\n")
    with pytest.raises(Exception, match=r"b.yaml: benchmark 'Q': metric\(s\) \['rouge_x'\] are not registered"):
        registry.benchmarks(str(f))
