from pathlib import Path

import pytest

from inference import GenerationRequest, InferenceError, ModelSpec, render_prompt

MESSAGES = (
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "First question"},
    {"role": "assistant", "content": "First answer"},
    {"role": "user", "content": "Second {question}"},
)


def test_raw_prompt_uses_template() -> None:
    spec = ModelSpec(model="unused", prompt_format="raw", raw_template="Q: {prompt}\nA:")
    assert render_prompt(spec=spec, request=GenerationRequest(prompt="2+2?")) == "Q: 2+2?\nA:"


def test_raw_prompt_from_messages_renders_the_whole_conversation() -> None:
    spec = ModelSpec(model="unused", prompt_format="raw", raw_template="Q: {prompt}\nA:")
    assert render_prompt(spec=spec, request=GenerationRequest(messages=MESSAGES)) == (
        "Be brief.\n\nQ: First question\nA: First answer\nQ: Second {question}\nA:"
    )


def test_raw_prompt_of_one_user_message_is_the_template_filled() -> None:
    spec = ModelSpec(model="unused", prompt_format="raw", raw_template='{"q": "{prompt}"}')
    request = GenerationRequest(messages=({"role": "user", "content": "Hi {there}"},))
    assert render_prompt(spec=spec, request=request) == '{"q": "Hi {there}"}'


def test_raw_prompt_ending_with_an_assistant_turn_is_an_error() -> None:
    spec = ModelSpec(model="unused", prompt_format="raw")
    request = GenerationRequest(messages=MESSAGES[:3])
    with pytest.raises(InferenceError, match="end with a user message"):
        render_prompt(spec=spec, request=request)


def test_raw_prompt_without_user_message_is_an_error() -> None:
    spec = ModelSpec(model="unused", prompt_format="raw")
    request = GenerationRequest(messages=({"role": "system", "content": "x"},))
    with pytest.raises(InferenceError, match="role 'user'"):
        render_prompt(spec=spec, request=request)


def test_chat_prompt_applies_the_chat_template(tiny_model_dir: Path) -> None:
    spec = ModelSpec(model=str(tiny_model_dir))
    rendered = render_prompt(spec=spec, request=GenerationRequest(messages=MESSAGES))
    assert "<|im_start|>system\nBe brief.<|im_end|>" in rendered
    assert "<|im_start|>assistant\nFirst answer<|im_end|>" in rendered
    assert rendered.endswith("<|im_start|>user\nSecond {question}<|im_end|>\n<|im_start|>assistant\n")


def test_chat_prompt_wraps_plain_prompt_as_user_message(tiny_model_dir: Path) -> None:
    spec = ModelSpec(model=str(tiny_model_dir))
    rendered = render_prompt(spec=spec, request=GenerationRequest(prompt="Hello"))
    assert rendered.endswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")


def test_missing_model_is_an_inference_error(tmp_path: Path) -> None:
    spec = ModelSpec(model=str(tmp_path / "no-such-model"))
    with pytest.raises(InferenceError, match="no-such-model"):
        render_prompt(spec=spec, request=GenerationRequest(prompt="Hello"))
