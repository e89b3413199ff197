"""A tiny stand-in for the task codecs, so the builder's tests never depend on the real codecs' progress.

It has the codec methods of a registered task (examples/render/parse) for the tasks the builder tests use.
``install(monkeypatch)`` puts it in the task registry in place of the real tasks (keeping their other attributes).
"""

from __future__ import annotations

import types

from taiyi.corpus.schema import document_text
from taiyi.instructions.tasks import registry
from taiyi.instructions.tasks.base import Instruction, ParseError


def _text(record: dict) -> str:
    s = record["schema"]
    if s == "kb":
        return document_text(record)
    if s == "text":
        return record["text"]
    if s == "qa":
        return record["question"] + " " + " | ".join(record["choices"])
    if s == "pairs":
        return record["text_1"] + " || " + record["text_2"]
    if s == "t2t":
        return record["text_1"]
    return " ".join(t["content"] for t in record["turns"] if t["role"] == "user")


def _target(task: str, record: dict, info: dict):
    if task == "ner":
        names = info.get("label_names") or {}
        return sorted({(e["type"], " ".join(e["text"])) for e in record["entities"] if not names or e["type"] in names})
    if task == "re":
        ents = {e["id"]: " ".join(e["text"]) for e in record["entities"]}
        return sorted({(r["type"], ents[r["arg1_id"]], ents[r["arg2_id"]]) for r in record["relations"]})
    if task == "cls":
        return sorted(record["labels"])
    if task == "pair":
        return record["label"]
    if task == "mcqa":
        return record["answer"][0]
    if task == "mt":
        return record["text_2"]
    if task in ("qa",):
        return record["answer"][0]
    return next(t["content"] for t in record["turns"] if t["role"] == "assistant")


def make(task: str):
    def render(target, meta, phrasing=None):
        if task in ("ner", "re"):
            return "; ".join(": ".join(x) for x in target) if target else "none"
        if task == "cls":
            return ", ".join(target) if target else "none"
        return str(target)

    def parse(text, meta):
        text = text.strip()
        if task in ("ner", "re"):
            if text == "none":
                return []
            out = []
            for part in text.split("; "):
                fields = part.split(": ")
                if len(fields) != (2 if task == "ner" else 3):
                    raise ParseError(f"cannot read {part!r}")
                out.append(list(fields))
            return sorted(out)
        if task == "cls":
            return [] if text == "none" else sorted(text.split(", "))
        if not text:
            raise ParseError("empty answer")
        return text

    def examples(record, rng, info, mode="train"):
        lang = record["lang"] if record["lang"] in ("zh", "en") else "en"
        k = rng.randrange(20)
        target = _target(task, record, info)
        if task in ("ner", "re"):
            target = [list(x) for x in target]
        meta = {"lang": lang, "phrasing": 0}
        return [Instruction(
            id=f"{record['id']}:{task}:{k}", dataset=record["dataset"], task=task, lang=record["lang"],
            template_id=f"{task}.{lang}.{k:02d}",
            messages=[{"role": "user", "content": f"[prompt {k}] {task} please: {_text(record)}"},
                      {"role": "assistant", "content": render(target, meta)}],
            target=target, document_id=record["document_id"], meta=meta,
        )]

    mod = types.SimpleNamespace(TASK=task, examples=examples, render=render, parse=parse)
    return mod


def install(monkeypatch) -> None:
    for t in registry.task_names():
        fake = make(t)
        real = type(registry.get_task(t))
        cls = type(f"Fake{real.__name__}", (real,), {k: staticmethod(getattr(fake, k)) for k in ("examples", "render", "parse")})
        monkeypatch.setitem(registry._TASKS, t, cls())
