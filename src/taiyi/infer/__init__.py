"""Inference: one generation engine interface (transformers, vLLM, OpenAI-compatible HTTP), chat, batch
generation, the OpenAI-compatible server and the web chat page."""
