"""The vLLM backend: fast batched generation on a CUDA GPU (paged attention, continuous batching).

Why: evaluation and data work generate tens of thousands of answers; transformers' ``generate`` is slow for that
(design §7, "slow do_predict"). vLLM is GPU-only and pins its own torch/transformers, so it is an optional extra
(``pip install 'taiyi[vllm]'`` on a CUDA machine) and this module explains clearly when it cannot run.
"""

from __future__ import annotations

import importlib.util
from typing import Iterator

from taiyi.infer.engine import Completion, Engine, EngineError, GenerationParams, Message


def vllm_unavailable_reason() -> str | None:
    """Why vLLM cannot run here, or None when it can."""
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (pip install 'taiyi[vllm]' on a machine with a CUDA GPU)"
    try:
        import torch

        if not torch.cuda.is_available():
            return "vllm needs a CUDA GPU and torch sees none (use --backend hf on CPU)"
    except Exception as exc:  # pragma: no cover - torch missing entirely
        return f"torch is unusable ({exc})"
    return None


class VLLMEngine(Engine):
    """Generation with ``vllm.LLM`` (offline batched inference), optionally with a LoRA adapter."""

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        quantization: str | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        max_lora_rank: int = 64,
        model_name: str | None = None,
        chat_format: str = "auto",
        thinking: bool = False,
    ) -> None:
        reason = vllm_unavailable_reason()
        if reason:
            raise EngineError(f"cannot use the vLLM backend: {reason}")
        if quantization == "8bit":
            raise EngineError("vLLM loads bitsandbytes weights in 4-bit only; use --quantization 4bit or --backend hf")
        from vllm import LLM

        kw: dict = {"model": model, "dtype": {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(dtype, dtype),
                    "gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len:
            kw["max_model_len"] = max_model_len
        if quantization == "4bit":
            kw["quantization"] = "bitsandbytes"
        if adapter is not None:
            kw.update(enable_lora=True, max_lora_rank=max_lora_rank)
        self.llm = LLM(**kw)
        self.tokenizer = self.llm.get_tokenizer()
        from taiyi.train.templates import resolve_family, stop_token_ids

        self.family = resolve_family(self.tokenizer, chat_format)
        self.thinking = bool(thinking)
        self.stop_ids = stop_token_ids(self.tokenizer, self.family,
                                       getattr(self.llm.llm_engine.model_config, "hf_generation_config", None))
        self.lora = None
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("adapter", 1, adapter)
        self.model_name = model_name or str(adapter or model).rstrip("/").split("/")[-1]
        self.max_context = self.llm.llm_engine.model_config.max_model_len

    def _sampling(self, params: GenerationParams):
        from vllm import SamplingParams

        return SamplingParams(
            n=1,
            temperature=params.temperature if params.sampling else 0.0,
            top_p=params.top_p if params.sampling else 1.0,
            max_tokens=params.max_new_tokens,
            min_tokens=params.min_new_tokens,
            stop=list(params.stop) or None,
            stop_token_ids=list(self.stop_ids),  # the chat family's end-of-turn tokens (taiyi.train.templates)
            repetition_penalty=params.repetition_penalty,
            seed=params.seed,
        )

    def generate_full(
        self, conversations: list[list[Message]], params: GenerationParams | None = None
    ) -> list[Completion]:
        params = params or GenerationParams()
        convs = [self.family.prepare_messages(c, self.thinking) for c in conversations]
        outs = self.llm.chat(convs, self._sampling(params), lora_request=self.lora, use_tqdm=False,
                             chat_template_kwargs=self.family.render_kwargs(self.thinking) or None)
        return [
            Completion(self.family.strip_thinking(o.outputs[0].text), len(o.prompt_token_ids), len(o.outputs[0].token_ids),
                       o.outputs[0].finish_reason or "stop")
            for o in outs
        ]

    def stream(self, messages: list[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """vLLM's offline engine does not stream; the answer comes as one delta (use ``serve --engine vllm``)."""
        yield self.generate([messages], params)[0]

    def count_tokens(self, messages: list[Message]) -> int:
        from taiyi.train.templates import render

        text = render(self.tokenizer, self.family, messages, generation_prompt=True, thinking=self.thinking)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
