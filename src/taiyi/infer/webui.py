"""The web chat page behind ``taiyi webui`` (Gradio): multi-turn, streaming, with the paper's example prompts.

Why: clinicians and students try a model in a browser, not a terminal. The page uses the same engine and the
same history budget as ``taiyi chat`` and offers the kinds of requests shown in the Taiyi paper — question
answering, named entity recognition, relation extraction and translation, in Chinese and English — as one-click
examples.
"""

from __future__ import annotations

import os
from typing import Iterator

from taiyi.infer.chat import truncate_history
from taiyi.infer.engine import Engine, GenerationParams, Message

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

DEFAULT_SYSTEM = "You are Taiyi (太一), a bilingual biomedical assistant. Answer accurately and concisely."

# (label, prompt): the task types of the paper's examples, in both languages.
EXAMPLES: list[tuple[str, str]] = [
    ("QA · 中文", "最近肚子总是隐隐作痛，感觉胀胀的，应该吃什么药？"),
    ("QA · English", "What are the common symptoms and first-line treatments of type 2 diabetes?"),
    ("NER · 中文", "从下面文本中识别出指定的实体类型：\n治疗以选择性抗抑郁药（SSRIs）和文拉法辛为主，少数患者选用三环类抗抑郁药。\n实体类型：药物，疾病"),
    ("NER · English", "Extract the chemical and disease entities from the following text:\n"
                      "Famotidine-associated delirium. A series of six cases."),
    ("RE · 中文", "找出下面句子中药物与疾病之间的治疗关系：\n二甲双胍是治疗2型糖尿病的一线药物。"),
    ("RE · English", "Find the chemical-induced disease relations in the following text:\n"
                     "Naloxone reverses the antihypertensive effect of clonidine; lidocaine-induced cardiac asystole was reported."),
    ("翻译 · 英译中", "Translate the following text into Chinese:\n"
                   "Aspirin reduces the risk of myocardial infarction in patients with coronary artery disease."),
    ("Translation · zh→en", "将下面的中文翻译成英文：\n高血压患者应该低盐饮食，并规律服用降压药。"),
]


def _text(content) -> str:
    """Gradio history content: a string, or a list of parts ({'type': 'text', 'text': ...} or strings)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return "".join(_text(c) for c in content)
    return "" if content is None else str(content)


def history_messages(history: list) -> list[Message]:
    """Gradio's chat history (messages format) as plain {role, content} messages."""
    out = []
    for item in history or []:
        if isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            out.append({"role": item["role"], "content": _text(item.get("content"))})
        elif isinstance(item, (list, tuple)) and len(item) == 2:  # older tuples format
            out += [{"role": "user", "content": _text(item[0])}, {"role": "assistant", "content": _text(item[1])}]
    return out


def build_webui(engine: Engine, params: GenerationParams | None = None, *, history_tokens: int = 2048,
                system: str = DEFAULT_SYSTEM, title: str | None = None):
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    params = params or GenerationParams()

    def respond(message, history) -> Iterator[str]:
        msgs = history_messages(history) + [{"role": "user", "content": _text(message)}]
        msgs = truncate_history(system or None, msgs, history_tokens, engine.count_tokens)
        text = ""
        try:
            for delta in engine.stream(msgs, params):
                text += delta
                yield text
        except Exception as exc:  # shown on the page (the partial answer stays), never a silent stop
            raise gr.Error(f"The model failed {'mid-answer' if text else 'before answering'}: "
                           f"{type(exc).__name__}: {exc}", duration=None) from None
        if not text:
            yield ""

    return gr.ChatInterface(
        respond,
        examples=[prompt for _, prompt in EXAMPLES],
        example_labels=[label for label, _ in EXAMPLES],
        run_examples_on_click=True,
        cache_examples=False,
        title=title or f"Taiyi 太一 · {engine.model_name}",
        description="Bilingual biomedical chat. 中英双语生物医学对话。Click an example or type a message.",
        flagging_mode="never",
        api_name="chat",
    )


def launch_webui(engine: Engine, params: GenerationParams | None = None, *, host: str = "127.0.0.1",
                 port: int = 7860, history_tokens: int = 2048, system: str = DEFAULT_SYSTEM, block: bool = True):
    """Serve the page on ``host:port`` (loopback by default). Returns the Gradio app."""
    demo = build_webui(engine, params, history_tokens=history_tokens, system=system)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
                show_error=True, quiet=not block)
    return demo
