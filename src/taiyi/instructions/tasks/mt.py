"""Translation codec, Chinese <-> English (ParaMed, WMT biomedical Medline), from t2t records.

Why: the paper trains both translation directions from each parallel pair and scores BLEU (sacrebleu, ``zh``
tokenisation for Chinese targets) and chrF. A t2t record is a translation pair when both ``text_1_name`` and
``text_2_name`` name languages ("en"/"zh", "English"/"Chinese", "英文"/"中文").

Target: the translation. The prompt is in the source text's language.
"""

from __future__ import annotations

from taiyi.instructions.tasks.answer_text import canonical, text_lang, unwrap
from taiyi.instructions.tasks.base import Instruction, load_templates

TASK = "mt"
LANGUAGE_ALIASES = {
    "en": "en", "eng": "en", "english": "en", "英文": "en", "英语": "en",
    "zh": "zh", "zho": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh", "zh-cn": "zh",
}  # fmt: skip


def record_languages(record: dict) -> tuple[str, str] | None:
    """(language of text_1, language of text_2) for a translation t2t record, else None."""
    if record.get("schema") != "t2t":
        return None
    a = LANGUAGE_ALIASES.get(str(record.get("text_1_name", "")).strip().lower())
    b = LANGUAGE_ALIASES.get(str(record.get("text_2_name", "")).strip().lower())
    if a is None or b is None or a == b:
        return None
    return a, b


def gold_pairs(record: dict, mode: str = "train") -> list[tuple[str, str, str, str]]:
    """(source text, source lang, target text, target lang): text_1 -> text_2, plus the reverse when training."""
    langs = record_languages(record)
    if langs is None:
        return []
    t1, t2 = str(record.get("text_1", "")).strip(), str(record.get("text_2", "")).strip()
    if not (t1 and t2):
        return []
    pairs = [(t1, langs[0], t2, langs[1])]
    if mode == "train":
        pairs.append((t2, langs[1], t1, langs[0]))
    # targets in canonical form (prompt language = source language, whose phrasings wrap the answer)
    out = []
    for src_text, src, tgt_text, tgt in pairs:
        tgt_text = canonical(tgt_text, load_templates(TASK, src).answers, MT_LABELS)
        if tgt_text:
            out.append((src_text, src, tgt_text, tgt))
    return out


def examples(record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
    out = []
    for src_text, src, tgt_text, tgt in gold_pairs(record, mode):
        tpl = load_templates(TASK, src)
        names = tpl.raw["language_names"]
        prompt = tpl.prompt(rng)
        meta = {"lang": src, "phrasing": rng.randrange(len(tpl.answers)), "source_lang": src, "target_lang": tgt}
        user = prompt["text"].replace("{src}", names[src]).replace("{tgt}", names[tgt]).replace("{text}", src_text)
        out.append(
            Instruction.for_record(
                record, TASK, prompt, lang=src,
                user=user,
                answer=render(tgt_text, meta),
                target=tgt_text,
                meta=meta,
                variant=f"{src}2{tgt}",
            )
        )
    return out


def render(target: str, meta: dict, phrasing: int | None = None) -> str:
    answers = load_templates(TASK, meta["lang"]).answers
    return answers[meta["phrasing"] if phrasing is None else phrasing].replace("{answer}", target)


MT_LABELS = ("译文", "翻译", "翻译结果", "translation", "english translation", "chinese translation", "英文译文", "中文译文")


def parse(text: str, meta: dict) -> str:
    return unwrap(text, load_templates(TASK, meta["lang"]).answers, labels=MT_LABELS)


def _bleu_chrf(preds: list[str], golds: list[str], zh: bool) -> tuple[float, float]:
    import sacrebleu

    bleu = sacrebleu.corpus_bleu(preds, [golds], tokenize="zh" if zh else "13a")
    chrf = sacrebleu.corpus_chrf(preds, [golds])
    return float(bleu.score), float(chrf.score)


def score(preds: list[str | None], golds: list[str]) -> dict:
    """Corpus BLEU and chrF (0-100); per target language when both directions are present. None = empty output."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions but {len(golds)} references")
    failures = sum(1 for p in preds if p is None)
    preds_s = [p or "" for p in preds]
    groups: dict[str, list[int]] = {}
    for i, g in enumerate(golds):
        groups.setdefault(text_lang(g), []).append(i)
    out: dict = {"count": len(golds), "parse_failures": failures}
    if not golds:
        return {"bleu": 0.0, "chrf": 0.0, **out}
    for lang, idx in sorted(groups.items()):
        bleu, chrf = _bleu_chrf([preds_s[i] for i in idx], [golds[i] for i in idx], zh=lang == "zh")
        out[f"bleu_to_{lang}"], out[f"chrf_to_{lang}"], out[f"count_to_{lang}"] = bleu, chrf, len(idx)
    if len(groups) == 1:
        out["bleu"], out["chrf"] = out[f"bleu_to_{lang}"], out[f"chrf_to_{lang}"]
    else:  # both directions: count-weighted mean of the per-direction corpus scores
        n = len(golds)
        out["bleu"] = sum(out[f"bleu_to_{k}"] * len(v) for k, v in groups.items()) / n
        out["chrf"] = sum(out[f"chrf_to_{k}"] * len(v) for k, v in groups.items()) / n
    return out
