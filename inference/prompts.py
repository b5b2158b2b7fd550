"""Turning a GenerationRequest into the exact prompt string fed to the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from inference.errors import InferenceError
from inference.model_spec import PROMPT_PLACEHOLDER, ModelSpec, resolve_model_location
from inference.params import GenerationRequest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def chat_messages(request: GenerationRequest) -> list[dict]:
    if request.messages is not None:
        return [dict(message) for message in request.messages]
    return [{"role": "user", "content": request.prompt}]


def render_raw_prompt(template: str, request: GenerationRequest) -> str:
    if request.prompt is not None:
        return _fill(template, request.prompt)
    return render_raw_conversation(template, request.messages or ())


def render_raw_conversation(template: str, messages: tuple[dict, ...]) -> str:
    """The whole conversation in the raw template, as a base model continues it: each user turn through the
    template, each assistant reply after it, a system message first. `Q: {prompt}\nA:` gives
    `Q: first\nA: reply\nQ: second\nA:`."""
    if not any(message["role"] == "user" for message in messages):
        raise InferenceError("a raw prompt needs at least one message with role 'user'")
    if messages[-1]["role"] != "user":
        raise InferenceError("a raw prompt's conversation must end with a user message, the turn to answer")
    parts = []
    for message in messages:
        if message["role"] == "system":
            parts.append(message["content"] + "\n\n")
        elif message["role"] == "user":
            parts.append(_fill(template, message["content"]))
        else:
            parts.append(("" if parts and parts[-1][-1:].isspace() else " ") + message["content"] + "\n")
    return "".join(parts)


def _fill(template: str, text: str) -> str:
    # str.replace rather than str.format, so literal braces in a template need no escaping.
    return template.replace(PROMPT_PLACEHOLDER, text)


def render_chat_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise InferenceError("this model's tokenizer has no chat template; use prompt_format='raw'")
    return cast(str, tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def render_prompt(
    *, spec: ModelSpec, request: GenerationRequest, tokenizer: PreTrainedTokenizerBase | None = None
) -> str:
    """The prompt string for `request`; a chat template loads (and caches) only the tokenizer."""
    if spec.prompt_format == "raw":
        return render_raw_prompt(spec.raw_template, request)
    if tokenizer is None:
        from inference.transformers_backend import load_tokenizer

        tokenizer = load_tokenizer(resolve_model_location(spec))
    return render_chat_prompt(tokenizer, chat_messages(request))
