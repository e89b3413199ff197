"""Real records read straight from ../shared/datasets for the codec round-trip tests.

Why: the converter (taiyi.sources) is written in parallel; until ``shared_corpus`` exists these small readers
give the codec tests real gold structures (CMeEE, BC5CDR, BioRED, CMeIE, CHIP-CDEE, CBLUE classification and
pair sets). They build unified records with ``taiyi.corpus.schema.new_record``.
"""

from __future__ import annotations

import json
from pathlib import Path

from taiyi.corpus.schema import make_passages, new_record


def pubtator(path: Path, dataset: str, limit: int | None = None) -> list[dict]:
    """Documents of a PubTator file: title+abstract passages, mention lines as entities, relation lines by concept id."""
    out, block = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            block.append(line)
            continue
        if block:
            out.append(_pubtator_doc(block, dataset))
            block = []
            if limit and len(out) >= limit:
                break
    return out


def _pubtator_doc(lines: list[str], dataset: str) -> dict:
    pmid, title, abstract, ents, rels = None, "", "", [], []
    for ln in lines:
        if "|t|" in ln[:20]:
            pmid, title = ln.split("|t|", 1)
        elif "|a|" in ln[:20]:
            abstract = ln.split("|a|", 1)[1]
        else:
            f = ln.split("\t")
            if len(f) >= 6 and f[1].isdigit():
                ents.append({"id": str(len(ents)), "type": f[4], "text": [f[3]], "offsets": [[int(f[1]), int(f[2])]],
                             "normalized": [{"db_name": "db", "db_id": i} for i in f[5].split("|")]})
            elif len(f) >= 4:
                rels.append(f[1:4])
    by_id = {}
    for e in ents:
        for n in e["normalized"]:
            by_id.setdefault(n["db_id"], e["id"])
    relations = [{"id": str(i), "type": t, "arg1_id": by_id[a], "arg2_id": by_id[b], "normalized": []}
                 for i, (t, a, b) in enumerate(rels) if a in by_id and b in by_id]
    return new_record("kb", id=pmid, document_id=pmid, dataset=dataset, split="test", lang="en",
                      passages=make_passages([("title", title), ("abstract", abstract)]), entities=ents, relations=relations)


def cmeee(path: Path, dataset: str = "CMeEE") -> list[dict]:
    out = []
    for i, r in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        ents = [{"id": str(j), "type": e["type"], "text": [e["entity"]], "offsets": [[e["start_idx"], e["end_idx"] + 1]],
                 "normalized": []} for j, e in enumerate(r["entities"])]
        out.append(new_record("kb", id=i, document_id=i, dataset=dataset, split="dev", lang="zh",
                              passages=make_passages([("sentence", r["text"])]), entities=ents))
    return out


def cmeie(path: Path) -> list[dict]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        r = json.loads(line)
        ents, rels = [], []
        for spo in r["spo_list"]:
            h = {"id": str(len(ents)), "type": spo["subject_type"], "text": [spo["subject"]], "offsets": [], "normalized": []}
            t = {"id": str(len(ents) + 1), "type": spo["object_type"]["@value"], "text": [spo["object"]["@value"]], "offsets": [],
                 "normalized": []}
            ents += [h, t]
            rels.append({"id": str(len(rels)), "type": spo["predicate"], "arg1_id": h["id"], "arg2_id": t["id"], "normalized": []})
        out.append(new_record("kb", id=i, document_id=i, dataset="CMeIE", split="dev", lang="zh",
                              passages=make_passages([("sentence", r["text"])]), entities=ents, relations=rels))
    return out


def cdee(path: Path) -> list[dict]:
    out = []
    for r in json.loads(path.read_text(encoding="utf-8")):
        events = []
        for j, ev in enumerate(r["event"]):
            args = [{"role": "tendency", "text": ev["tendency"]}] if ev["tendency"] else []
            args += [{"role": "character", "text": c} for c in ev["character"]]
            args += [{"role": "anatomy", "text": a} for a in ev["anatomy_list"]]
            events.append({"id": f"E{j}", "type": "临床发现", "trigger": {"text": [ev["core_name"]], "offsets": []}, "arguments": args})
        out.append(new_record("kb", id=r["id"], document_id=r["id"], dataset="CHIP-CDEE", split="dev", lang="zh",
                              passages=make_passages([("sentence", r["text"])]), events=events))
    return out


def cblue_text(path: Path, dataset: str, text_key: str) -> list[dict]:
    return [new_record("text", id=r.get("id", i), document_id=r.get("id", i), dataset=dataset, split="dev", lang="zh",
                       text=r[text_key], labels=[r["label"]])
            for i, r in enumerate(json.loads(path.read_text(encoding="utf-8")))]


def cblue_pairs(path: Path, dataset: str, k1: str, k2: str) -> list[dict]:
    return [new_record("pairs", id=r.get("id", i), document_id=r.get("id", i), dataset=dataset, split="dev", lang="zh",
                       text_1=r[k1], text_2=r[k2], label=str(r["label"]))
            for i, r in enumerate(json.loads(path.read_text(encoding="utf-8")))]


def hoc(path: Path) -> list[dict]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        f = line.split("\t")
        if len(f) < 2 or f[0] == "labels":
            continue
        labels = [x.split("_")[0] for x in f[0].split(",") if x.endswith("_1")]  # BLURB: "<class>_<0|1>"
        out.append(new_record("text", id=i, document_id=f[2] if len(f) > 2 else i, dataset="HoC", split="test", lang="en",
                              text=f[1], labels=labels))
    return out


def corpus_records(corpus: Path, task: str):
    """(record, info) for every record of every dataset in a converted corpus whose meta.json lists ``task``."""
    for meta_path in sorted(corpus.glob("*/meta.json")):
        info = json.loads(meta_path.read_text(encoding="utf-8"))
        if task not in info.get("tasks", []):
            continue
        for split in sorted(meta_path.parent.glob("*.jsonl")):
            if split.stem == "test_unlabelled":
                continue
            with open(split, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line), info
