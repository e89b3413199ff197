"""Small fakes for evaluation tests: a canned-answer engine and hand-made eval items (no model, no codecs needed)."""

from __future__ import annotations

from pathlib import Path

from taiyi.files import write_jsonl
from taiyi.instructions.tasks.base import ParseError


class FakeEngine:
    """Answers from a {prompt substring: answer} table; counts calls; log-likelihood prefers a given choice."""

    def __init__(self, table: dict[str, str], default: str = "", prefer: str | None = None):
        self.table, self.default, self.prefer = table, default, prefer
        self.generated = 0
        self.batches: list[int] = []

    def generate(self, conversations, params=None):
        self.batches.append(len(conversations))
        out = []
        for conv in conversations:
            self.generated += 1
            text = conv[-1]["content"]
            out.append(next((a for k, a in self.table.items() if k in text), self.default))
        return out

    def loglikelihood(self, pairs):
        return [0.0 if self.prefer and self.prefer in cont else -5.0 - len(cont) for _, cont in pairs]

    def close(self):
        pass


class FakeNerCodec:
    """'Type: mention' lines (phrasing 0) or 'mention (Type)' items joined by '; ' (phrasing 1); 'None' = empty."""

    @staticmethod
    def render(target, meta, phrasing=None):
        if not target:
            return "None"
        if (phrasing or 0) == 0:
            return "\n".join(f"{t}: {m}" for t, m in target)
        return "; ".join(f"{m} ({t})" for t, m in target)

    @staticmethod
    def parse(text, meta):
        text = text.strip()
        if text == "None":
            return []
        out = set()
        if ":" in text:
            for line in text.splitlines():
                t, _, m = line.partition(":")
                out.add((t.strip(), m.strip()))
        elif "(" in text:
            for part in text.split(";"):
                m, _, t = part.strip().rstrip(")").partition(" (")
                out.add((t, m))
        else:
            raise ParseError(f"cannot read {text[:40]!r}")
        return sorted([list(x) for x in out])


class FakeMcqaCodec:
    @staticmethod
    def render(target, meta, phrasing=None):
        return target if not phrasing else f"Answer: {target}"

    @staticmethod
    def parse(text, meta):
        text = text.strip().removeprefix("Answer:").strip()
        if not text:
            raise ParseError("empty")
        return text


def ner_items(n: int = 4) -> list[dict]:
    docs = [
        ("d1", "Aspirin caused asthma.", [["Chemical", "Aspirin"]]),
        ("d2", "Cisplatin and magnesium were given.", [["Chemical", "Cisplatin"], ["Chemical", "magnesium"]]),
        ("d3", "No chemicals here.", []),
        ("d4", "Metformin lowers glucose.", [["Chemical", "Metformin"], ["Chemical", "glucose"]]),
    ][:n]
    return [
        {"id": f"BC5CDR-Chem:{d}", "dataset": "bc5cdr", "task": "ner", "lang": "en", "stage": "eval",
         "template_id": f"ner.en.0{i % 2 + 1}", "document_id": d, "target": target, "meta": {"text": text},
         "messages": [{"role": "user", "content": f"Find chemicals: {text}"},
                      {"role": "assistant", "content": FakeNerCodec.render(target, {})}]}
        for i, (d, text, target) in enumerate(docs)
    ]


def mcqa_items() -> list[dict]:
    qs = [("q1", "Is aspirin an NSAID?", "yes"), ("q2", "Does water cure cancer?", "no")]
    return [
        {"id": f"PubMedQA:{q}", "dataset": "pubmed_qa", "task": "mcqa", "lang": "en", "template_id": "mcqa.en.01",
         "document_id": q, "target": gold, "meta": {"choices": ["yes", "no", "maybe"]},
         "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": gold}]}
        for q, text, gold in qs
    ]


def write_eval_dir(root: Path) -> Path:
    d = root / "eval"
    write_jsonl(d / "BC5CDR-Chem.jsonl", ner_items())
    write_jsonl(d / "PubMedQA.jsonl", mcqa_items())
    return d


def install_tasks(monkeypatch, fakes: dict) -> None:
    """Put fake render/parse (``fakes[task]``: a class with static ``render``/``parse``) into the task registry,
    keeping the real task's unit, metrics and answer budget."""
    from taiyi.instructions.tasks import registry

    for t, fake in fakes.items():
        real = type(registry.get_task(t))
        cls = type(f"Fake{real.__name__}", (real,), {"render": staticmethod(fake.render), "parse": staticmethod(fake.parse)})
        monkeypatch.setitem(registry._TASKS, t, cls())
