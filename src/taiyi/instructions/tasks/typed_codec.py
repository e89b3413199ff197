"""What the ner and re codecs share: typed-list answers ("<type>: a; b") with task decomposition.

Why: NER targets ``[[type, mention], ...]`` and RE targets ``[[type, head, tail], ...]`` differ only in their
fields; the prompts (one all-types prompt plus one per type present, now and then one for an absent type), the
answer phrasings and the lenient reader are the same. Each codec module keeps its gold-target extraction and
docstring and delegates the rest here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from taiyi.instructions.tasks.base import Instruction, ParseError, load_templates
from taiyi.instructions.tasks.typed_answers import TypedRecords, is_empty_answer, phrasings
from taiyi.instructions.tasks.labels import fill, offered_names


@dataclass(frozen=True)
class TypedListCodec:
    task: str
    fields: tuple[str, ...]  # the value fields after the type: ("mention",) or ("head", "tail")
    what: str  # for error messages: "entity list", "relation list"
    absent_type_prob: float  # train mode: chance of one extra per-type prompt for a type the document lacks

    def reader(self, lang: str, types: tuple[tuple[str, str], ...]) -> TypedRecords:
        return _reader(self.task, self.fields, lang, types)

    def examples(self, record: dict, rng, info: dict, *, lang: str, text: str, target: list[list[str]],
                 all_types: list[str], mode: str) -> list[Instruction]:
        """One all-types prompt, plus (train mode) one per type present and sometimes one for an absent type."""
        tpl = load_templates(self.task, lang)
        asks: list[list[str]] = [all_types]
        if mode == "train" and len(all_types) > 1:
            present = sorted({x[0] for x in target}, key=all_types.index)
            asks += [[t] for t in present]
            absent = [t for t in all_types if t not in present]
            if absent and rng.random() < self.absent_type_prob:
                asks.append([absent[rng.randrange(len(absent))]])
        sep = "、" if lang == "zh" else ", "
        out = []
        for i, types in enumerate(asks):
            prompt = tpl.prompt(rng)
            offered = offered_names(info, types, lang)
            meta = {"lang": lang, "phrasing": rng.randrange(len(tpl.answers)), "types": offered}
            sub = [x for x in target if x[0] in types]
            user = fill(prompt["text"], text=text, types=sep.join(d for _, d in offered))
            out.append(Instruction(
                id=f"{record['dataset']}/{record['id']}/{self.task}/{i}",
                dataset=record["dataset"],
                task=self.task,
                lang=lang,
                template_id=prompt["id"],
                messages=[{"role": "user", "content": user}, {"role": "assistant", "content": self.render(sub, meta)}],
                target=sub,
                document_id=record["document_id"],
                meta=meta,
            ))
        return out

    def render(self, target: list, meta: dict, phrasing: int | None = None) -> str:
        tpl = load_templates(self.task, meta["lang"])
        k = meta["phrasing"] if phrasing is None else phrasing
        if not target:
            return tpl.empty[k % len(tpl.empty)]
        return self.reader(meta["lang"], _types(meta)).render([tuple(x) for x in target], k % len(tpl.answers))

    def parse(self, text: str | None, meta: dict) -> list[list[str]]:
        if text is None or not str(text).strip():
            raise ParseError("empty answer")
        tpl = load_templates(self.task, meta["lang"])
        try:
            return [list(r) for r in self.reader(meta["lang"], _types(meta)).read(str(text), prefer=meta.get("phrasing"))]
        except ValueError:
            if is_empty_answer(str(text), tpl.empty):
                return []
            raise ParseError(f"no {self.what} in answer: {str(text)[:80]!r}") from None


@functools.lru_cache(maxsize=2048)
def _reader(task: str, fields: tuple[str, ...], lang: str, types: tuple[tuple[str, str], ...]) -> TypedRecords:
    tpl = load_templates(task, lang)
    return TypedRecords(phrasings(tpl, f"{task}.{lang}.yaml"), fields, types, lang)


def _types(meta: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(r), str(d)) for r, d in meta["types"])


def keep_typed(items: list[dict], keep) -> list[dict]:
    """The items (entities or relations) whose type ``keep`` maps to a benchmark type, renamed to it."""
    kept = []
    for x in items:
        t = keep(x["type"])
        if t is not None:
            x["type"] = t
            kept.append(x)
    return kept
