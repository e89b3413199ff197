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
    "ee": "Event Extraction",
    "cls": "Text Classification",
    "pair": "Text Pair Task",
    "mt": "Machine Translation",
    "title": "Title / summary generation",
    "report": "Other additional tasks (report generation)",
    "mcqa": "Multiple-choice QA",
    "qa": "Single-turn QA",
    "dialogue": "Multi-round dialogue",
    "general": "General dialogue data",
}
LANG_COLUMNS = (("zh", "Chinese"), ("en", "English"), ("zh-en", "zh-en"))


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

    def markdown(self, stages: list[int]) -> str:
        out = ["# Instruction data statistics", ""]
        for s in stages:
            out += [f"## Stage {s}", "", "| Task type | " + " | ".join(c for _, c in LANG_COLUMNS) + " | Total |",
                    "|---|" + "---:|" * (len(LANG_COLUMNS) + 1)]
            col_tot = Counter()
            for task, label in TASK_TYPES.items():
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
        out += ["## Dropped", "", "| Reason | Records |", "|---|---:|"]
        out += [f"| {r} | {n:,} |" for r, n in sorted(self.dropped.items())] or ["| (none) | 0 |"]
        out.append("")
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
