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
