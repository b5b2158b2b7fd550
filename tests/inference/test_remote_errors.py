"""Transient and permanent failures of remote servers, and the remote fields of ModelSpec."""

import copy

import pytest

import inference.remote
from inference import (
    GenerationRequest,
    InferenceError,
    InferenceUnavailable,
    ModelSpec,
    SamplingParams,
    generate,
    preload,
)
from tests.inference.recorded import OPENAI_CHAT_EXAMPLE, recorded_answer
from tests.inference.servers import ReceivedRequest, ScriptedServer, free_port

REQUEST = [GenerationRequest(prompt="Hello!")]


@pytest.fixture(autouse=True)
def no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.remote, "RETRY_DELAYS_S", (0.0, 0.0))


@pytest.mark.parametrize("backend", ["tgi", "openai-chat"])
def test_nothing_listening_is_unavailable_naming_the_url(backend: str) -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    prompt_format = "raw" if backend == "tgi" else "chat"  # no tokenizer needed for the prompt
    spec = ModelSpec(model="m", backend=backend, base_url=base_url, prompt_format=prompt_format, timeout_s=5)
    with pytest.raises(InferenceUnavailable) as raised:
        generate(spec=spec, requests=REQUEST, params=SamplingParams(max_new_tokens=4))
    path = "/generate" if backend == "tgi" else "/chat/completions"
    assert f"server {base_url}{path} unreachable: " in str(raised.value)
    assert "refused" in str(raised.value).lower()


class FailOnce:
    def __init__(self, status: int, answer: dict) -> None:
        self.status = status
        self.answer = answer
        self.calls = 0

    def __call__(self, request: ReceivedRequest) -> tuple[int, object]:
        self.calls += 1
        if self.calls == 1:
            return self.status, {"error": "Model is overloaded", "error_type": "overloaded"}
        return 200, copy.deepcopy(self.answer)


@pytest.mark.parametrize("status", [503, 429])
def test_transient_status_is_retried(status: int) -> None:
    responder = FailOnce(status, recorded_answer(4, 1))
    with ScriptedServer(responder) as server:
        spec = ModelSpec(model="m", backend="tgi", base_url=server.url, prompt_format="raw")
        (completion,) = generate(
            spec=spec, requests=REQUEST, params=SamplingParams(max_new_tokens=12, seed=4)
        )
    assert responder.calls == 2
    assert completion.token_count == 12 and completion.seed == 4


def test_persistent_5xx_is_unavailable_after_three_tries() -> None:
    calls = []

    def always_502(request: ReceivedRequest) -> tuple[int, object]:
        calls.append(request)
        return 502, {"error": {"message": "upstream gone", "type": "server_error"}}

    with ScriptedServer(always_502) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=server.url)
        with pytest.raises(InferenceUnavailable) as raised:
            generate(spec=spec, requests=REQUEST, params=SamplingParams())
    assert len(calls) == 3
    assert str(raised.value) == (
        f"OpenAI-compatible server {server.url}/chat/completions unavailable: HTTP 502: upstream gone"
    )


def test_client_error_is_not_retried_and_carries_the_server_message() -> None:
    calls = []

    def bad_request(request: ReceivedRequest) -> tuple[int, object]:
        calls.append(request)
        return 400, {
            "object": "error",
            "message": "This model's maximum context length is 2048 tokens.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }

    with ScriptedServer(bad_request) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=server.url, api_key="sk-secret")
        with pytest.raises(InferenceError) as raised:
            generate(spec=spec, requests=REQUEST, params=SamplingParams())
    assert not isinstance(raised.value, InferenceUnavailable)
    assert len(calls) == 1
    assert "HTTP 400: This model's maximum context length is 2048 tokens." in str(raised.value)
    assert "sk-secret" not in str(raised.value)


def test_retry_then_success_for_openai() -> None:
    responder = FailOnce(500, OPENAI_CHAT_EXAMPLE)
    with ScriptedServer(responder) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=server.url)
        (completion,) = generate(spec=spec, requests=REQUEST, params=SamplingParams(seed=2))
    assert responder.calls == 2 and completion.token_count == 9


def test_model_spec_remote_fields() -> None:
    spec = ModelSpec(model="m", backend="tgi", base_url="http://gpu-1:8080/", api_key="hf_secret_value")
    assert spec.base_url == "http://gpu-1:8080"
    assert (spec.concurrency, spec.timeout_s) == (16, 600.0)
    assert "hf_secret_value" not in repr(spec)
    assert ModelSpec(model="m").backend == "transformers"
    with pytest.raises(InferenceError, match="backend must be one of"):
        ModelSpec(model="m", backend="vllm")
    with pytest.raises(InferenceError, match="needs base_url"):
        ModelSpec(model="m", backend="openai-chat")
    with pytest.raises(InferenceError, match="base_url must be"):
        ModelSpec(model="m", backend="tgi", base_url="gpu-1:8080")
    with pytest.raises(InferenceError, match="concurrency"):
        ModelSpec(model="m", backend="tgi", base_url="http://x", concurrency=0)
    with pytest.raises(InferenceError, match="timeout_s"):
        ModelSpec(model="m", backend="tgi", base_url="http://x", timeout_s=float("nan"))
    with pytest.raises(InferenceError, match="api_key") as raised:
        ModelSpec(model="m", backend="tgi", base_url="http://x", api_key="")
    assert "''" not in str(raised.value)


def test_preload_of_a_remote_backend_sends_nothing() -> None:
    # Nothing listens at port 9 here; preload must not try.
    preload(ModelSpec(model="m", backend="openai-chat", base_url="http://127.0.0.1:9"))
    preload(ModelSpec(model="m", backend="tgi", base_url="http://127.0.0.1:9", prompt_format="raw"))
