"""The chat-template registry: what each model family's chat format means for training and for generation.

Why: template bugs are the commonest way a fine-tune goes wrong with a new base (design §7): the end-of-turn
token never trained (the model never stops), supervision running on into the next user turn, thinking blocks
left in training data or in scored answers. The tokenizer's own chat template stays the source of truth for
the *text* (training ids equal ``apply_chat_template``); a ``ChatFamily`` adds what a template does not say:
the end-of-turn token that closes every answer (trained, and the first stop token), the other tokens that stop
generation, whether the family has a system role, its thinking-block markers and the template switch for them,
and a reference template used only when a tokenizer ships none (base models). Training (``chat_format``) and
every inference engine read the same registry, so they cannot disagree.

Add a family: ``register_family(ChatFamily(name=..., eot=..., stops=(...), template=..., detect=(...)))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EOD_TOKEN = "<|endoftext|>"


@dataclass(frozen=True)
class ChatFamily:
    """One chat format. ``eot`` ends every assistant turn (it is supervised); ``stops`` stop generation."""

    name: str
    eot: str
    stops: tuple[str, ...]
    template: str  # reference Jinja template (the family's documented layout), used when a tokenizer has none
    detect: tuple[str, ...] = ()  # substrings that identify the family in a chat template (all must occur)
    special_tokens: tuple[str, ...] = ()  # the family's control tokens (eot/stops included)
    bos: str | None = None
    aliases: tuple[str, ...] = ()
    default_system: str | None = None  # what the family's template adds when no system message is given
    system_role: bool = True  # False: a system message is folded into the first user turn before rendering
    thinking: tuple[str, str] | None = None  # (open, close) of reasoning blocks
    thinking_switch: str | None = None  # template kwarg that turns thinking on/off (Qwen3: enable_thinking)
    open_last_turn: bool = False  # the template leaves the final answer unterminated: eot is appended (GLM-4)
    notes: str = ""

    def render_kwargs(self, thinking: bool = False) -> dict:
        """Extra keyword arguments for ``apply_chat_template`` (Qwen3: ``enable_thinking``)."""
        return {self.thinking_switch: bool(thinking)} if self.thinking_switch else {}

    def strip_thinking(self, text: str) -> str:
        """``text`` without reasoning blocks (also one opened by the prompt, or left unclosed)."""
        if not self.thinking or (self.thinking[0] not in text and self.thinking[1] not in text):
            return text
        o, c = (re.escape(t) for t in self.thinking)
        out = re.sub(f"{o}.*?{c}", "", text, flags=re.S)
        if self.thinking[1] in out:  # the generation prompt opened the block; the answer only closes it
            out = out.split(self.thinking[1])[-1]
        out = re.sub(f"{o}.*$", "", out, flags=re.S)  # unclosed: the answer never came
        return out.strip()

    def prepare_messages(self, messages: list[dict], thinking: bool = False) -> list[dict]:
        """Messages as this family renders them: system folded when the family has no system role; reasoning
        removed from answers unless training with thinking."""
        msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
        if not self.system_role and msgs and msgs[0]["role"] == "system":
            sys_text = msgs.pop(0)["content"]
            first_user = next((m for m in msgs if m["role"] == "user"), None)
            if first_user is not None:
                first_user["content"] = f"{sys_text}\n\n{first_user['content']}"
        if self.thinking and not thinking:
            for m in msgs:
                if m["role"] == "assistant" and any(t in m["content"] for t in self.thinking):
                    m["content"] = self.strip_thinking(m["content"])
        return msgs


_FAMILIES: dict[str, ChatFamily] = {}
_ALIASES: dict[str, str] = {}


def register_family(family: ChatFamily) -> ChatFamily:
    """Add a family (or replace one of the same name); its name and aliases become valid ``chat_format`` values."""
    _FAMILIES[family.name] = family
    for a in (family.name, *family.aliases):
        _ALIASES[a.lower()] = family.name
    return family


def family_names() -> list[str]:
    return sorted(_FAMILIES)


def chat_formats() -> list[str]:
    """Every accepted ``chat_format`` value: ``auto`` plus family names and aliases."""
    return ["auto", *sorted(_ALIASES)]


def get_family(name: str) -> ChatFamily:
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise ValueError(f"unknown chat format {name!r}; allowed: {', '.join(chat_formats())}")
    return _FAMILIES[key]


def detect_family(tokenizer) -> ChatFamily | None:
    """The family whose markers the tokenizer's chat template (or, without one, its vocabulary) carries."""
    tpl = tokenizer.chat_template if isinstance(getattr(tokenizer, "chat_template", None), str) else ""
    if tpl:
        for fam in _FAMILIES.values():  # registration order: specific families first
            if fam.detect and all(d in tpl for d in fam.detect):
                return fam
        return None
    vocab = tokenizer.get_vocab()
    for fam in _FAMILIES.values():
        if fam.detect and fam.name != "eod" and fam.eot in vocab and all(t in vocab for t in fam.special_tokens):
            return fam
    return None


def generic_family(tokenizer) -> ChatFamily | None:
    """For a template no registered family matches: the tokenizer's eos ends a turn (not registered)."""
    eos = getattr(tokenizer, "eos_token", None)
    if not eos:
        return None
    return ChatFamily(name="generic", eot=eos, stops=(eos,), template=tokenizer.chat_template or "",
                      notes="unregistered template: the tokenizer's eos is taken as the end-of-turn token")


def resolve_family(tokenizer, chat_format: str = "auto") -> ChatFamily:
    """The family for ``chat_format`` (``auto``: detected from the tokenizer, else ``generic_family``)."""
    if chat_format and chat_format != "auto":
        return get_family(chat_format)
    fam = detect_family(tokenizer) or (generic_family(tokenizer) if getattr(tokenizer, "chat_template", None) else None)
    if fam is None:
        raise ValueError(
            "cannot tell the chat family of this tokenizer; set chat_format to one of " + ", ".join(family_names())
        )
    return fam


def prepare_tokenizer(tokenizer, chat_format: str = "auto") -> ChatFamily:
    """Make sure the tokenizer can render ``chat_format`` (install the reference template when it has none, or
    for ``eod``); set a pad token. Returns the family."""
    if chat_format in ("auto", None, "") and not getattr(tokenizer, "chat_template", None):
        fam = detect_family(tokenizer)
        if fam is None:
            raise ValueError("the tokenizer has no chat template; set chat_format to one of " + ", ".join(family_names()))
    else:
        fam = resolve_family(tokenizer, chat_format or "auto")
    vocab = tokenizer.get_vocab()
    if fam.eot not in vocab:
        raise ValueError(f"chat_format {fam.name!r} needs the token {fam.eot} in the tokenizer vocabulary")
    if fam.name == "eod" or not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = fam.template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = EOD_TOKEN if EOD_TOKEN in vocab else tokenizer.eos_token or fam.eot
    return fam


def stop_token_ids(tokenizer, family: ChatFamily | str = "auto", generation_config=None) -> list[int]:
    """Ids that end an answer: the family's eot first, its other stop tokens, the generation config's eos."""
    fam = family if isinstance(family, ChatFamily) else resolve_family(tokenizer, family)
    vocab = tokenizer.get_vocab()
    ids = [vocab[t] for t in fam.stops if t in vocab]
    extra = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    for i in extra if isinstance(extra, (list, tuple)) else [extra]:
        if isinstance(i, int) and i >= 0 and i not in ids:
            ids.append(i)
    if not ids:
        raise ValueError(f"no stop token of chat format {fam.name!r} is in the tokenizer")
    return ids


def render(tokenizer, family: ChatFamily, messages: list[dict], *, generation_prompt: bool = False,
           thinking: bool = False) -> str:
    """The chat text exactly as training and every engine see it (one implementation for both)."""
    return tokenizer.apply_chat_template(
        family.prepare_messages(messages, thinking), tokenize=False, add_generation_prompt=generation_prompt,
        **family.render_kwargs(thinking),
    )


# ---------------------------------------------------------------------------------------------- families
# Reference templates follow each family's tokenizer_config.json (tool calling left out). Order matters for
# detection: Qwen3 before Qwen2.5 (both ChatML).

QWEN3_TEMPLATE = (
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}"
    "{%- if ns.multi_step_tool and message.role == 'user' %}{%- set ns.multi_step_tool = false %}"
    "{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}"
    "{%- for message in messages %}"
    "{%- set content = message.content if message.content is string else '' %}"
    "{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}"
    "{%- elif message.role == 'assistant' %}{%- set reasoning_content = '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{%- if loop.index0 > ns.last_query_index %}"
    "{%- if loop.last or (not loop.last and reasoning_content) %}"
    "{{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}"
    "{{- '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)

QWEN25_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>system\\n" + QWEN25_SYSTEM + "<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or "
    "(message.role == 'assistant') %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

GLM4_TEMPLATE = (
    "[gMASK]<sop>{% for item in messages %}{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

GEMMA_TEMPLATE = (  # Gemma-3 layout (Gemma-2 is the same but rejects a system message)
    "{{ bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set first_user_prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}{%- if message['role'] == 'assistant' %}{%- set role = 'model' %}"
    "{%- else %}{%- set role = message['role'] %}{%- endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{%- endif %}"
)

MISTRAL_TEMPLATE = (  # Mistral-Instruct v0.2/v0.3 layout for user/assistant turns
    "{{- bos_token }}{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{- '[INST] ' + message['content'] + '[/INST]' }}"
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] | trim + eos_token }}"
    "{%- else %}{{- raise_exception('Mistral templates render only user and assistant turns') }}{%- endif %}"
    "{%- endfor %}"
)

EOD_TEMPLATE = (  # Taiyi-1 (Qwen-7B, Firefly-style): <eod> user <eod> assistant <eod> ...
    "{{- '" + EOD_TOKEN + "' }}{%- for message in messages %}{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '" + EOD_TOKEN + "' }}{% endgeneration %}"
    "{%- else %}{{- message['content'] + '" + EOD_TOKEN + "' }}{%- endif %}{%- endfor %}"
)

register_family(ChatFamily(
    name="qwen3", eot="<|im_end|>", stops=("<|im_end|>", "<|endoftext|>"), template=QWEN3_TEMPLATE,
    detect=("<|im_start|>", "</think>"), special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"),
    thinking=("<think>", "</think>"), thinking_switch="enable_thinking",
    notes="non-thinking by default: the empty <think></think> block is prompt, not supervised",
))
register_family(ChatFamily(
    name="qwen2.5", eot="<|im_end|>", stops=("<|im_end|>", "<|endoftext|>"), template=QWEN25_TEMPLATE,
    detect=("<|im_start|>",), special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    aliases=("chatml", "qwen2", "qwen"), default_system=QWEN25_SYSTEM,
))
register_family(ChatFamily(
    name="llama3", eot="<|eot_id|>", stops=("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"), template=LLAMA3_TEMPLATE,
    detect=("<|start_header_id|>",), bos="<|begin_of_text|>", aliases=("llama-3", "llama3.1", "llama-3.1"),
    special_tokens=("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>"),
))
register_family(ChatFamily(
    name="glm4", eot="<|user|>", stops=("<|user|>", "<|observation|>", "<|endoftext|>"), template=GLM4_TEMPLATE,
    detect=("<|assistant|>", "[gMASK]"), aliases=("glm-4", "chatglm4"), open_last_turn=True,
    special_tokens=("<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                    "<|assistant|>", "<|observation|>"),
    notes="an answer ends where the next <|user|> begins; for the last turn that token is appended",
))
register_family(ChatFamily(
    name="gemma", eot="<end_of_turn>", stops=("<end_of_turn>", "<eos>"), template=GEMMA_TEMPLATE,
    detect=("<start_of_turn>",), bos="<bos>", aliases=("gemma2", "gemma3", "gemma-2", "gemma-3"), system_role=False,
    special_tokens=("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"),
))
register_family(ChatFamily(
    name="mistral", eot="</s>", stops=("</s>",), template=MISTRAL_TEMPLATE, detect=("[INST]",), bos="<s>",
    system_role=False, special_tokens=("<unk>", "<s>", "</s>", "[INST]", "[/INST]"),
))
register_family(ChatFamily(
    name="eod", eot=EOD_TOKEN, stops=(EOD_TOKEN,), template=EOD_TEMPLATE, special_tokens=(EOD_TOKEN,),
    notes="the original Taiyi-1 layout; always installs its own template",
))
