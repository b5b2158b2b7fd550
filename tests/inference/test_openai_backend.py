"""The "openai-chat" and "openai-completions" backends against a scripted server with recorded answers."""

import copy
import json
from pathlib import Path

import pytest

import inference.remote
from inference import GenerationRequest, InferenceError, ModelSpec, SamplingParams, generate, render_prompt
from tests.inference.recorded import (
    LLAMA_CPP_COMPLETIONS,
    LLAMA_CPP_EOS_TOKENS,
    LLAMA_CPP_N_REFUSAL,
    LLAMA_CPP_STOPPED_TOKENS,
    OPENAI_CHAT_EXAMPLE,
    OPENAI_CHAT_EXAMPLE_TOKENS,
    VLLM_COMPLETIONS_EXAMPLE,
    VLLM_STOPPED_CHOICE,
    llama_cpp_entry,
)
from tests.inference.servers import ReceivedRequest, ScriptedServer

API_KEY = "sk-test-not-a-real-key"
MESSAGES = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"})


@pytest.fixture(autouse=True)
def no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.remote, "RETRY_DELAYS_S", (0.0, 0.0))


def chat_answer(request: ReceivedRequest) -> tuple[int, object]:
    answer = copy.deepcopy(OPENAI_CHAT_EXAMPLE)
    answer["choices"].append(copy.deepcopy(VLLM_STOPPED_CHOICE))
    return 200, answer


def test_chat_completions_request_and_parsing() -> None:
    params = SamplingParams(temperature=0.8, top_p=0.95, max_new_tokens=16, n=2, seed=11, stop=("\n\n",))
    requests = [GenerationRequest(messages=MESSAGES), GenerationRequest(prompt="Hi there")]
    with ScriptedServer(chat_answer) as server:
        spec = ModelSpec(
            model="my-served-model",
            backend="openai-chat",
            base_url=f"{server.url}/v1",
            api_key=API_KEY,
            concurrency=2,
        )
        progress: list[tuple[int, int]] = []
        completions = generate(
            spec=spec,
            requests=requests,
            params=params,
            on_progress=lambda done, total: progress.append((done, total)),
        )
    assert progress == [(1, 2), (2, 2)]
    assert [(c.request_index, c.sample_index) for c in completions] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    received = sorted(server.received, key=lambda request: request.body["seed"])
    assert [request.path for request in received] == ["/v1/chat/completions"] * 2
    assert all(request.headers["authorization"] == f"Bearer {API_KEY}" for request in received)
    assert received[0].body == {
        "model": "my-served-model",
        "messages": list(MESSAGES),
        "n": 2,
        "temperature": 0.8,
        "top_p": 0.95,
        "max_tokens": 16,
        "stop": ["\n\n"],
        "seed": 11,
        "logprobs": True,
        "top_logprobs": 1,
    }
    assert received[1].body["messages"] == [{"role": "user", "content": "Hi there"}]
    assert received[1].body["seed"] == 13  # seed + request_index * n

    hello, stopped = completions[:2]
    assert hello.text == "Hello! How can I assist you today?"
    assert hello.finish_reason == "eos"  # "stop" with no stop_reason naming one of our stop strings
    assert hello.token_count == 9
    assert hello.logprob_sum == pytest.approx(sum(lp for _, lp, _ in OPENAI_CHAT_EXAMPLE_TOKENS))
    assert hello.logprob_mean == pytest.approx(hello.logprob_sum / 9)
    assert json.loads(hello.rendered_prompt) == list(MESSAGES)
    assert (hello.seed, stopped.seed) == (11, 11)
    assert (stopped.text, stopped.finish_reason, stopped.token_count) == ("Hi", "stop", 2)
    assert stopped.logprob_sum == pytest.approx(-1.8190403)
    assert completions[2].seed == 13


def test_completions_request_and_parsing(tiny_model_dir: Path) -> None:
    with ScriptedServer(lambda request: (200, VLLM_COMPLETIONS_EXAMPLE)) as server:
        spec = ModelSpec(model=str(tiny_model_dir), backend="openai-completions", base_url=f"{server.url}/v1")
        params = SamplingParams(temperature=1.0, top_k=20, max_new_tokens=3, n=2, seed=3, stop=("\n",))
        request = GenerationRequest(prompt="The capital of France is")
        completions = generate(spec=spec, requests=[request], params=params)
    (received,) = server.received
    assert received.path == "/v1/completions"
    assert "authorization" not in received.headers
    expected_prompt = render_prompt(spec=ModelSpec(model=str(tiny_model_dir)), request=request)
    assert received.body == {
        "model": str(tiny_model_dir),
        "prompt": expected_prompt,
        "n": 2,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_tokens": 3,
        "stop": ["\n"],
        "seed": 3,
        "logprobs": 1,
        "top_k": 20,
    }
    first, second = completions
    assert (first.text, first.finish_reason, first.token_count) == (" a", "eos", 1)
    assert first.logprob_sum == pytest.approx(-1.7437232732772827)
    assert (second.text, second.finish_reason, second.token_count) == (" Paris, the", "length", 3)
    assert second.logprob_mean == pytest.approx((-1.9937232732772827 - 0.25 - 1.5) / 3)
    assert first.rendered_prompt == second.rendered_prompt == expected_prompt


def test_fewer_choices_than_n_are_topped_up_and_greedy_asks_once() -> None:
    def one_choice(request: ReceivedRequest) -> tuple[int, object]:
        answer = copy.deepcopy(OPENAI_CHAT_EXAMPLE)  # one choice, whatever n says (llama.cpp's server)
        return 200, answer

    with ScriptedServer(one_choice) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=server.url)
        request = [GenerationRequest(prompt="Hello!")]
        sampled = generate(spec=spec, requests=request, params=SamplingParams(n=3, seed=1))
        assert [(c.sample_index, c.seed) for c in sampled] == [(0, 1), (1, 2), (2, 3)]
        assert [r.body["n"] for r in server.received] == [3, 2, 1]
        server.received.clear()
        greedy = generate(spec=spec, requests=request, params=SamplingParams(temperature=0, n=3, seed=1))
    assert [c.sample_index for c in greedy] == [0, 1, 2] and len({c.text for c in greedy}) == 1
    assert [r.body["n"] for r in server.received] == [1]


def test_missing_logprobs_is_an_error() -> None:
    def without_logprobs(request: ReceivedRequest) -> tuple[int, object]:
        answer = copy.deepcopy(OPENAI_CHAT_EXAMPLE)
        answer["choices"][0]["logprobs"] = None
        return 200, answer

    with ScriptedServer(without_logprobs) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=server.url)
        with pytest.raises(InferenceError, match="no token logprobs"):
            generate(spec=spec, requests=[GenerationRequest(prompt="x")], params=SamplingParams())


def test_raw_prompt_format_is_refused_for_chat() -> None:
    spec = ModelSpec(model="m", backend="openai-chat", base_url="http://127.0.0.1:9", prompt_format="raw")
    with pytest.raises(InferenceError, match="openai-completions"):
        generate(spec=spec, requests=[GenerationRequest(prompt="x")], params=SamplingParams())


def llama_cpp_chat(request: ReceivedRequest) -> tuple[int, object]:
    """As llama.cpp's server answers chat: token logprobs only when top_logprobs (its n_probs) is above 0."""
    body = request.body
    if body["n"] > 2:  # its --parallel
        refusal = copy.deepcopy(LLAMA_CPP_N_REFUSAL)
        refusal["error"]["message"] = f"Field 'n': Value must be between 1 <= value <= 2, but got {body['n']}"
        return 400, refusal
    choice: dict = {"finish_reason": "stop", "message": {"role": "assistant", "content": "Blue."}}
    if body.get("logprobs") and body.get("top_logprobs", 20) > 0:
        entries = [
            llama_cpp_entry(10159, "Blue", -0.4),
            llama_cpp_entry(30, ".", -0.2),
            llama_cpp_entry(2, "", -0.1),
        ]
        choice["logprobs"] = {"content": entries}
    choices = [{**copy.deepcopy(choice), "index": index} for index in range(body["n"])]
    return 200, {"choices": choices, "object": "chat.completion", "usage": {"completion_tokens": 3}}


def test_llama_cpp_chat_returns_token_logprobs() -> None:
    with ScriptedServer(llama_cpp_chat) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=f"{server.url}/v1")
        params = SamplingParams(n=2, seed=5, stop=("\n",))
        completions = generate(spec=spec, requests=[GenerationRequest(prompt="Colour?")], params=params)
    assert [(c.text, c.token_count, c.finish_reason, c.seed) for c in completions] == [
        ("Blue.", 3, "eos", 5)
    ] * 2
    assert completions[0].logprob_sum == pytest.approx(-0.7)
    assert [r.body["top_logprobs"] for r in server.received] == [1]


def test_llama_cpp_refusing_n_gets_one_choice_per_request() -> None:
    with ScriptedServer(llama_cpp_chat) as server:
        spec = ModelSpec(model="m", backend="openai-chat", base_url=f"{server.url}/v1")
        params = SamplingParams(n=3, seed=5)
        completions = generate(spec=spec, requests=[GenerationRequest(prompt="Colour?")], params=params)
    # n=3 is refused (llama.cpp allows n up to its --parallel): then one choice per request, seeds seed + k.
    assert [(r.body["n"], r.body["seed"]) for r in server.received] == [(3, 5), (1, 5), (1, 6), (1, 7)]
    assert [(c.sample_index, c.seed, c.token_count) for c in completions] == [(0, 5, 3), (1, 6, 3), (2, 7, 3)]


def test_llama_cpp_empty_samples_and_its_finish_reasons(tiny_model_dir: Path) -> None:
    with ScriptedServer(lambda request: (200, copy.deepcopy(LLAMA_CPP_COMPLETIONS))) as server:
        spec = ModelSpec(
            model="m", backend="openai-completions", base_url=f"{server.url}/v1", prompt_format="raw"
        )
        params = SamplingParams(n=3, seed=1, stop=("\n",), max_new_tokens=16)
        request = GenerationRequest(prompt="What is the capital of France?")
        stopped, empty, eos = generate(spec=spec, requests=[request], params=params)
    assert (stopped.text, stopped.finish_reason, stopped.token_count) == (" Anglo-Saxon England", "stop", 4)
    assert stopped.logprob_sum == pytest.approx(sum(lp for _, _, lp in LLAMA_CPP_STOPPED_TOKENS))
    # Stopped at its first token: an empty sample with no tokens and no logprobs, not an error.
    assert (empty.text, empty.finish_reason, empty.token_count, empty.logprob_sum, empty.logprob_mean) == (
        "",
        "stop",
        0,
        None,
        None,
    )
    # Ended by the end-of-sequence token, which llama.cpp counts and lists.
    assert (eos.text, eos.finish_reason, eos.token_count) == (" 72 égroines de Amazone d'Oda?", "eos", 16)
    assert eos.logprob_mean == pytest.approx(sum(lp for _, _, lp in LLAMA_CPP_EOS_TOKENS) / 16)


def test_text_without_logprobs_is_still_an_error() -> None:
    def text_without_logprobs(request: ReceivedRequest) -> tuple[int, object]:
        answer = copy.deepcopy(LLAMA_CPP_COMPLETIONS)
        answer["choices"][0]["logprobs"] = None
        return 200, answer

    with ScriptedServer(text_without_logprobs) as server:
        spec = ModelSpec(model="m", backend="openai-completions", base_url=server.url, prompt_format="raw")
        with pytest.raises(InferenceError, match="no token logprobs for choice 0"):
            generate(spec=spec, requests=[GenerationRequest(prompt="x")], params=SamplingParams(n=3))
