"""stats.md: the task-family x language table beside the paper's figures (the paper's README table)."""

from __future__ import annotations

from taiyi.instructions.stats import PAPER_FAMILIES, TASK_TYPES, BuildStats
from taiyi.instructions.tasks.registry import task_names


def test_every_registered_task_has_a_row_and_a_paper_family():
    assert set(task_names()) <= set(TASK_TYPES)
    families = [t for tasks, *_ in PAPER_FAMILIES.values() for t in tasks]
    assert sorted(families) == sorted(set(families)) and set(task_names()) | {"general"} == set(families)


def test_family_table_sums_tasks_per_language_beside_the_paper():
    st = BuildStats()
    for stage in (1, 2):
        for task, lang, n in (("ner", "zh", 3), ("norm", "zh", 2), ("ner", "en", 5), ("bionlp_ee", "en", 4),
                              ("mt", "zh-en", 7), ("sim", "en", 1), ("summ", "en", 1)):
            for _ in range(n):
                st.keep(stage, task, lang)
    st.keep(2, "my_task", "en")  # a user task outside the paper's families
    md = st.markdown([1, 2])
    assert "## Task families against the paper (stage 2)" in md and md.count("Task families against") == 1
    assert "| Named Entity Recognition | ner, norm | 5 | 44,667 | 5 | 28,603 | 10 | 73,270 |" in md
    assert "| Event Extraction | ee, bionlp_ee | 0 | 2,992 | 4 | 2,022 | 4 | 5,014 |" in md
    assert "| Machine Translation | mt | 0 | – | 0 | – | 7 | 74,113 |" in md
    assert "| Text Pair Task | pair, sim, title, summ | 0 | 45,548 | 2 | 11,237 | 2 | 56,785 |" in md
    assert "| (not in the paper's table) | my_task | 0 | – | 1 | – | 1 | – |" in md
    assert "| **Total** | | | | | | **24** | **1,114,315** |" in md
    assert "| my_task | 0 | 1 | 0 | 1 |" in md  # the stage table names unknown tasks too
    assert "| Biomedical event extraction (BioNLP) | 0 | 4 | 0 | 4 |" in md


def test_paper_build_writes_the_family_table_from_real_files(shared_datasets, tmp_path, capsys):
    """``taiyi build --config paper`` over real converted datasets of the new task families (CHIP-CDN
    normalisation, GE 2011 events, NCBI-disease NER + MeSH normalisation): stats.md holds the family table with our
    counts beside the paper's, and the new tasks are trained in both stages."""
    import pytest

    from taiyi.cli import main
    from taiyi.files import read_json
    from taiyi.sources import convert

    corpus, out = tmp_path / "corpus", tmp_path / "instructions"
    convert.convert_all(shared_datasets, corpus, ["CHIP-CDN", "bionlp_st_2011_ge", "ncbi_disease"], progress=False)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--config", "paper", "--corpus", str(corpus), "--out", str(out), "-q"])
    assert exit_.value.code in (0, None), capsys.readouterr()
    md = (out / "stats.md").read_text(encoding="utf-8")
    stage2 = read_json(out / "manifest.json")["stats"]["stages"]["2"]["by_task_lang"]
    assert stage2["norm/zh"] > 5000 and stage2["norm/en"] > 1000 and stage2["bionlp_ee/en"] > 800, stage2
    ner = stage2["ner/en"] + stage2["norm/en"]
    row = next(ln for ln in md.splitlines() if ln.startswith("| Named Entity Recognition | ner, norm |"))
    assert row == (f"| Named Entity Recognition | ner, norm | {stage2['norm/zh']:,} | 44,667 | {ner:,} | 28,603 | "
                   f"{stage2['norm/zh'] + ner:,} | 73,270 |")
    assert f"| Event Extraction | ee, bionlp_ee | 0 | 2,992 | {stage2['bionlp_ee/en']:,} | 2,022 |" in md
    assert "| Biomedical event extraction (BioNLP) |" in md and "| Entity normalisation |" in md
    assert (out / "eval" / "CHIP-CDN-dev.jsonl").is_file() and (out / "eval" / "BioNLP-GE11-dev.jsonl").is_file()


def test_dropped_by_dataset_table_puts_the_biggest_losers_first():
    st = BuildStats()
    st.drop("bionlp_st_2011_id", "too_long", 303)
    st.drop("jnlpba", "duplicate_near", 2610)
    st.drop("jnlpba", "contaminated_text", 138)
    md = st.markdown([])
    table = md[md.index("### Dropped by dataset"):].splitlines()
    assert table[2] == "| Dataset | contaminated_text | duplicate_near | too_long | Total |"
    assert table[4:6] == ["| jnlpba | 138 | 2,610 |  | 2,748 |", "| bionlp_st_2011_id |  |  | 303 | 303 |"]
    assert "### Dropped by dataset" not in BuildStats().markdown([])
