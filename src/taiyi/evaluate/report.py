"""Turns a scores document into what a reader looks at: ``scores.json``, ``report.md`` and the ``scores.png`` chart.

Why: the paper's claim is a table of our scores beside Taiyi's, ChatGPT's and the best fine-tuned systems'.
The report puts a run in that table (plus the untuned base model given by ``--baseline``), with the
paper-style per-type P/R/F1 (as its BioRED table), a per-template breakdown, parse-failure counts and a
few of the worst answers per benchmark, so a bad number can be traced to the answers behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taiyi.evaluate.registry import paper_average
from taiyi.files import atomic_path, write_json


def _fmt(x: Any) -> str:
    return "–" if x is None else f"{x:.1f}" if isinstance(x, (int, float)) else str(x)


def _cell(s: Any, limit: int = 160) -> str:
    s = str(s).replace("\n", " ⏎ ").replace("|", "\\|")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def markdown(scores: dict[str, Any], name: str) -> str:
    run, benches = scores["run"], scores["benchmarks"]
    baseline = scores.get("baseline")
    what = "oracle (gold answers through every answer phrasing)" if run.get("oracle") else (
        run.get("endpoint") or run.get("model") or "?")
    lines = [f"# Evaluation report: {name}", "", f"- model: `{what}`" + (f" + adapter `{run['adapter']}`" if run.get("adapter") else "")]
    if baseline:
        lines.append(f"- baseline: `{baseline['run'].get('model') or baseline['run'].get('endpoint')}`")
    lines += [f"- multiple choice: {run.get('mc_mode')}; limit: {run.get('limit') or 'none'}; greedy decoding", ""]
    lines += ["## Scores", "", "Scores in percent: each benchmark's headline metric (`metric` column; see `taiyi.evaluate.metrics`), "
              f"answers read the {run.get('reading', 'flexible')} way; each benchmark's section gives its number under every "
              "scoring convention that covers it (docs/evaluation.md), beside the metric's oracle ceiling on the same items. `official`: the benchmark's own scorer's measure "
              "(seqeval span F1 for NER, as in the SOTA column; BioCreative concept-level F1 for BC5CDR CID).", ""]
    head = "| benchmark | task | metric | ours | grounded F1 | official |" + (" baseline |" if baseline else "") + \
        " paper Taiyi | ChatGPT-3.5 | SOTA (system) | items | parse failures |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for b, r in benches.items():
        p = r.get("paper") or {}
        g = r.get("grounded", {}).get("f1")
        off = (r.get("conventions") or {}).get("official")
        row = f"| {b} | {r['task']} | {r['metric']} | **{_fmt(r['score'])}** | {_fmt(g)} | " \
              f"{_fmt(off['score']) + ' (' + off['metric'] + ')' if off and off['score'] is not None else '–'} |"
        if baseline:
            row += f" {_fmt(baseline['benchmarks'].get(b, {}).get('score'))} |"
        sota = f"{_fmt(p.get('sota'))} ({p['sota_system']})" if p.get("sota_system") else _fmt(p.get("sota"))
        row += f" {_fmt(p.get('taiyi'))} | {_fmt(p.get('chatgpt35'))} | {sota} | {r['n_items']} | {r['parse_failures']} |"
        lines.append(row)
    if scores.get("average") is not None:
        avg = paper_average()
        note = ""
        if avg is not None and any(r.get("paper") for r in benches.values()):
            note = (f" (the paper's average row covers its 13 benchmarks: Taiyi {_fmt(avg.taiyi)}, "
                    f"ChatGPT {_fmt(avg.chatgpt35)}, SOTA {_fmt(avg.sota)}).")
        lines += ["", f"Average over the {len(benches)} scored benchmarks: **{_fmt(scores['average'])}**{note}"]
    if scores.get("skipped"):
        lines += ["", "## Skipped", ""] + [f"- {b}: {why}" for b, why in scores["skipped"].items()]
    for b, r in benches.items():
        lines += ["", f"## {b}", ""]
        s = r["strict"]
        if "precision" in s:
            lines.append(f"Strict: P {_fmt(s['precision'])} / R {_fmt(s['recall'])} / F1 {_fmt(s['f1'])} "
                         f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
        elif "accuracy" in s:
            lines.append(f"Accuracy {_fmt(s['accuracy'])} ({s['correct']}/{s['total']})")
        if len(r.get("metrics") or {}) > 1 or "precision" not in s and "accuracy" not in s:
            lines.append("Metrics: " + ", ".join(f"{m} {_fmt(v)}" for m, v in r["metrics"].items()))
        if "grounded" in r:
            gr = r["grounded"]
            lines.append(f"Span-grounded: P {_fmt(gr['precision'])} / R {_fmt(gr['recall'])} / F1 {_fmt(gr['f1'])}; "
                         f"{gr['ungrounded']} predicted mentions not found in the text")
        lines.append(f"Parse failures: {r['parse_failures']} of {r['n_items']}"
                     + (f" ({r['missing']} missing from the predictions file)" if r.get("missing") else ""))
        if r.get("readings"):
            lines.append("Readings: " + "; ".join(
                f"{k}{' (headline)' if k == r.get('reading') else ''} {_fmt(v['score'])}, {v['parse_failures']} unreadable"
                for k, v in r["readings"].items()))
        if r.get("options_per_item"):
            lines.append("Options per item: " + ", ".join(f"{n} options × {c}" for n, c in r["options_per_item"].items()))
        if r.get("conventions"):
            ceiling = r.get("oracle_ceiling") or {}
            lines += ["", "| convention | metric | score | oracle ceiling |", "|---|---|---|---|"]
            lines += [f"| {c} | {v['metric']} | {_fmt(v['score'])} | {_fmt(ceiling.get(v['metric']))} |"
                      for c, v in r["conventions"].items()]
        if r.get("per_type"):
            lines += ["", "| type | P | R | F1 | tp | fp | fn |", "|---|---|---|---|---|---|---|"]
            lines += [f"| {_cell(t, 60)} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['f1'])} | {v['tp']} | {v['fp']} | {v['fn']} |"
                      for t, v in r["per_type"].items()]
        if r.get("per_template"):
            lines += ["", "| template | score | items |", "|---|---|---|"]
            lines += [f"| {t} | {_fmt(v['score'])} | {v['n']} |" for t, v in r["per_template"].items()]
        if r.get("parse_failure_examples"):
            lines += ["", "Unreadable answers:", ""]
            lines += [f"- `{e['id']}`: {_cell(e['answer'])} — {_cell(e['error'], 120)}" for e in r["parse_failure_examples"]]
        if r.get("worst"):
            lines += ["", "Worst answers:", "", "| item | score | prompt | answer | gold |", "|---|---|---|---|---|"]
            lines += [f"| {w['id']} | {_fmt(w['score'])} | {_cell(w['prompt'])} | {_cell(w['answer'])} | {_cell(w['gold'])} |"
                      for w in r["worst"]]
    return "\n".join(lines) + "\n"


def chart(scores: dict[str, Any], path: Path) -> None:
    """Grouped bar chart: ours, baseline, paper Taiyi, ChatGPT, SOTA per benchmark."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = scores["benchmarks"]
    names = list(benches)
    series = [("ours", [benches[b]["score"] for b in names])]
    if scores.get("baseline"):
        series.append(("baseline", [scores["baseline"]["benchmarks"].get(b, {}).get("score") for b in names]))
    for key, label in (("taiyi", "paper Taiyi"), ("chatgpt35", "ChatGPT-3.5"), ("sota", "SOTA")):
        series.append((label, [(benches[b].get("paper") or {}).get(key) for b in names]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.5))
    width = 0.8 / len(series)
    for k, (label, vals) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(names))]
        ax.bar([x for x, v in zip(xs, vals) if v is not None], [v for v in vals if v is not None], width, label=label)
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 120)
    ax.set_title("Taiyi benchmarks: this run beside the published numbers")
    ax.legend(fontsize=7, ncol=len(series), loc="upper center")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_report(scores: dict[str, Any], out: str | Path, name: str | None = None) -> dict[str, Path]:
    """Write ``scores.json``, ``report.md`` and ``scores.png`` under ``out`` (each atomically)."""
    out = Path(out)
    name = name or out.name
    paths = {"scores": out / "scores.json", "report": out / "report.md", "chart": out / "scores.png"}
    write_json(paths["scores"], scores)
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(markdown(scores, name), encoding="utf-8")
    chart(scores, paths["chart"])
    return paths
