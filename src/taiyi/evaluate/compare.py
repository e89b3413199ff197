"""Side-by-side answers of two models (or endpoints) to the same prompts, as one self-contained HTML page.

Why: the paper's qualitative tables put Taiyi's answer next to Qwen-7B-Chat's for the same question; numbers
alone do not show *how* a tuned model's answers differ from its base. The page embeds everything (no
scripts, no external CSS) so it can be mailed or attached to an issue.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from taiyi.files import DataError, atomic_path, read_jsonl


def read_prompts(path: Path) -> list[dict]:
    """Prompts from JSONL (``{"prompt": ...}`` or ``{"messages": [...]}``, optional ``id``/``gold``) or plain text lines."""
    path = Path(path)
    out = []
    if path.suffix == ".jsonl":
        for n, rec in enumerate(read_jsonl(path), 1):
            if "messages" in rec:
                msgs = [m for m in rec["messages"] if m.get("role") != "assistant"] or None
            elif isinstance(rec.get("prompt"), str):
                msgs = [{"role": "user", "content": rec["prompt"]}]
            else:
                msgs = None
            if not msgs:
                raise DataError(f"{path}:{n}: expected a 'prompt' string or a 'messages' list with a user turn")
            out.append({"id": str(rec.get("id", n)), "messages": msgs, "gold": rec.get("gold")})
    else:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                out.append({"id": str(n), "messages": [{"role": "user", "content": line}], "gold": None})
    if not out:
        raise DataError(f"{path}: no prompts")
    return out


def benchmark_prompts(names: str, *, limit: int, data_root: Path | None, eval_dir: Path | None) -> list[dict]:
    from taiyi.evaluate.registry import select
    from taiyi.evaluate.items import load_items, prompt_of

    out = []
    for bench in select(names):
        for it in load_items(bench, data_root=data_root, eval_dir=eval_dir, limit=limit):
            gold = next((m["content"] for m in reversed(it.messages) if m.get("role") == "assistant"), None)
            out.append({"id": it.id, "messages": prompt_of(it), "gold": gold})
    return out


def open_engine(spec: str):
    """A model directory / hub id, or an ``http(s)://`` OpenAI-compatible endpoint."""
    from taiyi.infer.engine import load_engine

    if spec.startswith(("http://", "https://")):
        return load_engine(endpoint=spec)
    return load_engine(spec)


def answers(spec: str, prompts: Sequence[dict], max_new_tokens: int, engine=None, batch_size: int = 8) -> list[str]:
    from tqdm.auto import tqdm

    from taiyi.infer.engine import GenerationParams

    own = engine is None
    engine = engine or open_engine(spec)
    params = GenerationParams.greedy(max_new_tokens=max_new_tokens)
    out: list[str] = []
    try:
        for i in tqdm(range(0, len(prompts), batch_size), desc=spec[-40:], leave=False):
            out.extend(engine.generate([p["messages"] for p in prompts[i : i + batch_size]], params))
    finally:
        if own:
            engine.close()
    return out


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.5em;vertical-align:top;white-space:pre-wrap;font-size:13px}
th{background:#f3f3f3}td.p{width:34%;color:#333}td.same{background:#f4fff4}.id{color:#888;font-size:11px}"""


def render_html(a: str, b: str, prompts: Sequence[dict], ans_a: Sequence[str], ans_b: Sequence[str]) -> str:
    e = html.escape
    has_gold = any(p.get("gold") for p in prompts)
    rows = []
    for p, x, y in zip(prompts, ans_a, ans_b):
        prompt = "\n\n".join(f"[{m['role']}] {m['content']}" if m["role"] != "user" else m["content"] for m in p["messages"])
        same = ' class="same"' if x.strip() == y.strip() else ""
        gold = f"<td>{e(str(p['gold'] or ''))}</td>" if has_gold else ""
        rows.append(f'<tr><td class="p"><div class="id">{e(p["id"])}</div>{e(prompt)}</td>{gold}'
                    f"<td{same}>{e(x)}</td><td{same}>{e(y)}</td></tr>")
    n_same = sum(x.strip() == y.strip() for x, y in zip(ans_a, ans_b))
    gold_head = "<th>gold</th>" if has_gold else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>taiyi compare</title><style>{CSS}</style></head>"
            f"<body><h1>Side by side</h1><p>A: <code>{e(a)}</code><br>B: <code>{e(b)}</code><br>"
            f"{len(prompts)} prompts, greedy decoding; {n_same} identical answers (green).</p>"
            f"<table><tr><th>prompt</th>{gold_head}<th>A</th><th>B</th></tr>{''.join(rows)}</table></body></html>")


def compare(a: str, b: str, *, prompts: Path | None = None, benchmarks: str | None = None, limit: int = 5,
            data_root: Path | None = None, eval_dir: Path | None = None, max_new_tokens: int = 256,
            out: Path = Path("compare.html"), engines: tuple | None = None) -> Path:
    """Write the side-by-side page to ``out`` (atomically) and return its path."""
    items = read_prompts(prompts) if prompts is not None else benchmark_prompts(
        benchmarks or "", limit=limit, data_root=data_root, eval_dir=eval_dir)
    ea, eb = engines or (None, None)
    ans_a = answers(a, items, max_new_tokens, ea)
    ans_b = answers(b, items, max_new_tokens, eb)
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(render_html(a, b, items, ans_a, ans_b), encoding="utf-8")
    return out
