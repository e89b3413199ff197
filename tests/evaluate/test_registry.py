"""Benchmark registry: the 14 benchmarks joined with metrics and the paper's published numbers."""

from __future__ import annotations

import pytest

from taiyi.evaluate import registry


def test_all_fourteen_benchmarks_with_paper_numbers():
    reg = registry.benchmarks()
    assert len(reg) == 14
    for name in ("BC5CDR-Chem", "CHEMDNER", "CMeIE-dev", "BC7-LitCovid", "MedQA-MCMLE", "BioRED"):
        assert name in reg
    assert reg["BC5CDR-Chem"].paper.taiyi == pytest.approx(80.2)
    assert reg["BC5CDR"].task == "re" and reg["BC5CDR"].paper.sota_system == "BioGPT"
    assert reg["BioRED"].paper.sota is None and reg["BioRED"].zero_shot
    assert reg["PubMedQA"].scoring == "choice" and reg["HoC"].scoring == "label_sets"
    # the paper's 13 + BioRED each have a row; the average row is exposed separately
    assert registry.paper_average().taiyi == pytest.approx(65.1)


def test_select_names_and_unknown():
    assert [b.name for b in registry.select("hoc, PubMedQA")] == ["HoC", "PubMedQA"]
    assert len(registry.select("all")) == 14
    with pytest.raises(KeyError, match="unknown benchmark 'NoSuch'"):
        registry.select("NoSuch")
