"""Counts of a build and the ``stats.md`` report: records per task type x language per stage, and what was dropped.

Why: the mix is the experiment; the report must show it in the same shape as the paper's slide (task type
rows, Chinese / English columns, stage 1 and stage 2) and say exactly how many records each filter removed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

TASK_TYPES = {  # codec -> row label, in the paper's order
    "ner": "Named Entity Recognition",
    "re": "Relation Extraction",
    "norm": "Entity normalisation",
    "ee": "Event Extraction",
    "bionlp_ee": "Biomedical event extraction (BioNLP)",
    "cls": "Text Classification",
    "pair": "Text Pair Task",
    "sim": "Similarity scoring",
    "mt": "Machine Translation",
    "title": "Title / summary generation",
    "summ": "Question summarisation",
    "report": "Other additional tasks (report generation)",
    "mcqa": "Multiple-choice QA",
    "qa": "Single-turn QA",
    "dialogue": "Multi-round dialogue",
    "general": "General dialogue data",
}
LANG_COLUMNS = (("zh", "Chinese"), ("en", "English"), ("zh-en", "zh-en"))

# The paper's instruction-data table (README "Instruction-Tuning Data", Taiyi1 @ 67a701cc; see
# ../shared/reference/taiyi_datasets.md): family -> (its tasks here, Chinese, English, zh+en when only a joint
# figure is given). NER's two columns are as the README prints them (its per-dataset rows suggest they are swapped).
PAPER_FAMILIES = {
    "Named Entity Recognition": (("ner", "norm"), 44667, 28603, None),
    "Relation Extraction": (("re",), 26606, 17279, None),
    "Event Extraction": (("ee", "bionlp_ee"), 2992, 2022, None),
    "Text Classification": (("cls",), 37624, 40339, None),
    "Text Pair Task": (("pair", "sim", "title", "summ"), 45548, 11237, None),
    "Machine Translation": (("mt",), None, None, 74113),
    "Single-turn QA": (("qa", "mcqa"), 129562, 57962, None),
    "Multi-round dialogue": (("dialogue",), 16391, 10000, None),
    "Other additional tasks": (("report",), None, None, 9370),
    "General dialogue data": (("general",), None, None, 560000),
}
PAPER_TOTAL = 1114315


@dataclass
class BuildStats:
    kept: Counter = field(default_factory=Counter)        # (stage, row, lang) -> n
    per_dataset: Counter = field(default_factory=Counter)  # (dataset, task) -> n instructions (before stage copies)
    dropped: Counter = field(default_factory=Counter)      # reason -> n
    dropped_by_dataset: Counter = field(default_factory=Counter)  # (dataset, reason) -> n
    records_read: Counter = field(default_factory=Counter)  # dataset -> n corpus records
    eval_items: dict = field(default_factory=dict)          # benchmark -> n
    skipped: dict = field(default_factory=dict)             # dataset -> why
    errors: list = field(default_factory=list)              # first few codec errors
    epoch_mix: dict = field(default_factory=dict)           # stage -> epoch_mix.EpochPlan.report()

    def drop(self, dataset: str, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n
        self.dropped_by_dataset[(dataset, reason)] += n

    def keep(self, stage: int, task: str, lang: str, general: bool = False) -> None:
        self.kept[(stage, "general" if general else task, lang)] += 1

    def merge(self, other: dict) -> None:
        """Add a worker's counts (``as_counts`` form)."""
        for reason, n in other.get("dropped", {}).items():
            self.dropped[reason] += n
        for key, n in other.get("dropped_by_dataset", []):
            self.dropped_by_dataset[tuple(key)] += n
        for ds, n in other.get("records_read", {}).items():
            self.records_read[ds] += n
        self.errors.extend(other.get("errors", [])[: max(0, 20 - len(self.errors))])

    def stage_total(self, stage: int) -> int:
        return sum(n for (s, _, _), n in self.kept.items() if s == stage)

    def to_dict(self) -> dict:
        stages = sorted({s for s, _, _ in self.kept})
        return {
            "stages": {
                str(s): {
                    "total": self.stage_total(s),
                    "by_task_lang": {f"{t}/{lang}": n for (st, t, lang), n in sorted(self.kept.items()) if st == s},
                }
                for s in stages
            },
            "per_dataset": {f"{d}/{t}": n for (d, t), n in sorted(self.per_dataset.items())},
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_by_dataset": {f"{d}/{r}": n for (d, r), n in sorted(self.dropped_by_dataset.items())},
            "records_read": dict(sorted(self.records_read.items())),
            "eval_items": dict(self.eval_items),
            "skipped_datasets": dict(sorted(self.skipped.items())),
            "codec_errors": self.errors[:20],
            "epoch_mix": {str(s): r for s, r in sorted(self.epoch_mix.items())},
        }

    def dropped_table(self) -> list[str]:
        """Dataset x reason: where the filters bite (a dataset losing many records to too_long wants shorter
        passages; to duplicate_near, fewer templates or less decomposition)."""
        if not self.dropped_by_dataset:
            return []
        reasons = sorted({r for _, r in self.dropped_by_dataset})
        per: dict[str, Counter] = {}
        for (d, r), n in self.dropped_by_dataset.items():
            per.setdefault(d, Counter())[r] += n
        out = ["### Dropped by dataset", "", "| Dataset | " + " | ".join(reasons) + " | Total |",
               "|---|" + "---:|" * (len(reasons) + 1)]
        for d, c in sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
            out.append(f"| {d} | " + " | ".join(f"{c[r]:,}" if c[r] else "" for r in reasons)
                       + f" | {sum(c.values()):,} |")
        return out + [""]

    def markdown(self, stages: list[int]) -> str:
        out = ["# Instruction data statistics", ""]
        for s in stages:
            out += [f"## Stage {s}", "", "| Task type | " + " | ".join(c for _, c in LANG_COLUMNS) + " | Total |",
                    "|---|" + "---:|" * (len(LANG_COLUMNS) + 1)]
            col_tot = Counter()
            rows = {**TASK_TYPES, **{t: t for (st, t, _) in self.kept if st == s and t not in TASK_TYPES}}
            for task, label in rows.items():
                row = [self.kept.get((s, task, lang), 0) for lang, _ in LANG_COLUMNS]
                if not any(row):
                    continue
                for (lang, _), n in zip(LANG_COLUMNS, row):
                    col_tot[lang] += n
                out.append(f"| {label} | " + " | ".join(f"{n:,}" for n in row) + f" | {sum(row):,} |")
            tot = [col_tot[lang] for lang, _ in LANG_COLUMNS]
            out += ["| **Total** | " + " | ".join(f"{n:,}" for n in tot) + f" | **{sum(tot):,}** |", ""]
        for s, rep in sorted(self.epoch_mix.items()):
            from taiyi.instructions.epoch_mix import markdown

            out += [f"## Effective mix per epoch, stage {s}", "",
                    f"Resampled each epoch at training time (seed {rep['seed']} here; the recipe's seed in training): "
                    "a capped source shows a different subset each epoch. *New* = examples not seen in an earlier "
                    "epoch.", ""]
            out += markdown(rep) + [""]
        if stages:
            out += self.paper_table(max(stages))
        out += ["## Dropped", "", "| Reason | Records |", "|---|---:|"]
        out += [f"| {r} | {n:,} |" for r, n in sorted(self.dropped.items())] or ["| (none) | 0 |"]
        out.append("")
        out += self.dropped_table()
        out += ["## Per dataset (instructions before stage copies)", "", "| Dataset | Task | Instructions |", "|---|---|---:|"]
        out += [f"| {d} | {t} | {n:,} |" for (d, t), n in sorted(self.per_dataset.items())]
        out.append("")
        if self.eval_items:
            out += ["## Evaluation sets", "", "| Benchmark | Items |", "|---|---:|"]
            out += [f"| {b} | {n:,} |" for b, n in self.eval_items.items()]
            out.append("")
        if self.skipped:
            out += ["## Datasets not used for training", "", "| Dataset | Why |", "|---|---|"]
            out += [f"| {d} | {why} |" for d, why in sorted(self.skipped.items())]
            out.append("")
        return "\n".join(out)

    def paper_table(self, stage: int) -> list[str]:
        """Markdown lines: instructions of the final stage (which holds every instruction once) by the paper's task
        families x language, beside the paper's own figures; tasks outside the families get their own rows."""
        def n(tasks, langs) -> int:
            return sum(v for (s, t, lang), v in self.kept.items() if s == stage and t in tasks and lang in langs)

        fmt = lambda x: "–" if x is None else f"{x:,}"  # noqa: E731
        out = [f"## Task families against the paper (stage {stage})", "",
               "| Task family | Tasks | Chinese | Chinese (paper) | English | English (paper) | Total | Total (paper) |",
               "|---|---|---:|---:|---:|---:|---:|---:|"]
        covered: set[str] = set()
        for family, (tasks, zh, en, joint) in PAPER_FAMILIES.items():
            covered.update(tasks)
            ours = (n(tasks, ("zh",)), n(tasks, ("en",)), n(tasks, ("zh", "en", "zh-en")))
            paper_total = joint if joint is not None else zh + en
            out.append(f"| {family} | {', '.join(tasks)} | {ours[0]:,} | {fmt(zh)} | {ours[1]:,} | {fmt(en)} | "
                       f"{ours[2]:,} | {paper_total:,} |")
        for task in sorted({t for (s, t, _) in self.kept if s == stage} - covered):
            ours = (n((task,), ("zh",)), n((task,), ("en",)), n((task,), ("zh", "en", "zh-en")))
            out.append(f"| (not in the paper's table) | {task} | {ours[0]:,} | – | {ours[1]:,} | – | {ours[2]:,} | – |")
        out += [f"| **Total** | | | | | | **{self.stage_total(stage):,}** | **{PAPER_TOTAL:,}** |", "",
                "Paper: README \"Instruction-Tuning Data\" table (Taiyi1 @ 67a701cc); machine translation, other tasks "
                "and general dialogue have only joint zh+en figures there; its NER columns are printed as the README "
                "gives them, though its per-dataset rows sum the other way round (zh 28,603, en 44,667).", ""]
        return out
