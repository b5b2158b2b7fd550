"""The "tgi" backend against `python -m inference.serve` (a real subprocess) and against a scripted server."""

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import inference.remote
from inference import (
    GenerationRequest,
    InferenceError,
    InferenceUnavailable,
    ModelSpec,
    SamplingParams,
    generate,
    render_prompt,
)
from tests.inference.recorded import RECORDED_TOKENS, recorded_answer
from tests.inference.servers import ReceivedRequest, ScriptedServer, serve_subprocess

REQUESTS = [
    GenerationRequest(prompt="Tell me a story."),
    GenerationRequest(messages=({"role": "user", "content": "What is 2 + 2?"},)),
]


@pytest.fixture(autouse=True)
def no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.remote, "RETRY_DELAYS_S", (0.0, 0.0))


@pytest.fixture(scope="module")
def tgi_url(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_subprocess(tiny_model_dir, log_path) as url:
        yield url


@pytest.fixture(scope="module")
def local_spec(tiny_model_dir: Path) -> ModelSpec:
    return ModelSpec(model=str(tiny_model_dir))


@pytest.fixture(scope="module")
def tgi_spec(tiny_model_dir: Path, tgi_url: str) -> ModelSpec:
    return ModelSpec(model=str(tiny_model_dir), backend="tgi", base_url=tgi_url, timeout_s=60)


def test_best_of_gives_n_samples_per_prompt(tgi_spec: ModelSpec, local_spec: ModelSpec) -> None:
    params = SamplingParams(temperature=1.0, max_new_tokens=6, n=3, seed=7)
    progress: list[tuple[int, int]] = []
    completions = generate(
        spec=tgi_spec,
        requests=REQUESTS,
        params=params,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert [(c.request_index, c.sample_index) for c in completions] == [
        (r, s) for r in range(2) for s in range(3)
    ]
    assert progress == [(1, 2), (2, 2)]
    # One best_of request per prompt, seeded with seed + request_index * n: every sample reports that seed.
    assert [c.seed for c in completions] == [7, 7, 7, 10, 10, 10]
    for completion in completions:
        assert completion.rendered_prompt == render_prompt(
            spec=local_spec, request=REQUESTS[completion.request_index]
        )
        assert completion.finish_reason in {"eos", "length"}
        assert 1 <= completion.token_count <= 6
        assert math.isfinite(completion.logprob_sum) and completion.logprob_sum < 0
        assert completion.logprob_mean == pytest.approx(completion.logprob_sum / completion.token_count)

    # The server sampled the 3 rows as one batch seeded 7, exactly as the local backend does.
    local = generate(spec=local_spec, requests=REQUESTS[:1], params=params)
    assert sorted(c.text for c in completions[:3]) == sorted(c.text for c in local)
    assert sorted(c.logprob_sum for c in completions[:3]) == pytest.approx(
        sorted(c.logprob_sum for c in local), rel=1e-4
    )


def test_stop_sequence_matches_local_backend(tgi_spec: ModelSpec, local_spec: ModelSpec) -> None:
    request = REQUESTS[1:]
    greedy = SamplingParams(temperature=0, max_new_tokens=12, n=2)
    full = generate(spec=tgi_spec, requests=request, params=greedy)
    assert [c.sample_index for c in full] == [0, 1] and full[0].text == full[1].text
    text = full[0].text
    stop = text[len(text) // 2 : len(text) // 2 + 3]

    (stopped, _) = generate(spec=tgi_spec, requests=request, params=replace(greedy, stop=(stop,)))
    assert stopped.finish_reason == "stop"
    assert stopped.text == text[: text.find(stop)]
    assert 1 <= stopped.token_count < full[0].token_count
    (local, _) = generate(spec=local_spec, requests=request, params=replace(greedy, stop=(stop,)))
    assert (stopped.text, stopped.token_count) == (local.text, local.token_count)
    assert stopped.logprob_sum == pytest.approx(local.logprob_sum, rel=1e-4)


def test_validation_error_is_a_plain_inference_error(tgi_spec: ModelSpec) -> None:
    # The tiny model has 512 positions, so 1000 new tokens fail TGI's max_total_tokens check (HTTP 422).
    with pytest.raises(InferenceError) as raised:
        generate(spec=tgi_spec, requests=REQUESTS[:1], params=SamplingParams(max_new_tokens=1000, seed=1))
    assert not isinstance(raised.value, InferenceUnavailable)
    message = str(raised.value)
    assert f"{tgi_spec.base_url}/generate" in message
    assert "HTTP 422" in message and "`max_new_tokens` must be <= 512" in message


def test_huggingface_client_parses_the_answers(tgi_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import InferenceClient, TextGenerationOutput, constants

    # The hub's HTTP session refuses every URL in offline mode, local ones included.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    clients = [InferenceClient(base_url=url, timeout=60) for url in (f"{tgi_url}/generate", tgi_url)]
    for client in clients:
        output = client.text_generation(
            "Hello", details=True, max_new_tokens=4, best_of=2, do_sample=True, seed=3, stop=["\n\n"]
        )
        assert isinstance(output, TextGenerationOutput)
        details = output.details
        assert details.finish_reason in {"length", "eos_token", "stop_sequence"}
        assert details.generated_tokens == len(details.tokens) <= 4
        assert details.seed == 3 and details.prefill == []
        assert all(
            isinstance(token.logprob, float) and isinstance(token.special, bool) for token in details.tokens
        )
        (other,) = details.best_of_sequences
        assert other.generated_tokens == len(other.tokens) and other.seed == 3
    info = InferenceClient(model=tgi_url, provider="hf-inference", timeout=60).get_endpoint_info()
    assert info["max_best_of"] >= 2 and info["max_total_tokens"] == 512 and info["max_input_tokens"] == 511


class RealTGIValidation:
    """Answers like released TGI versions: best_of > 1 with a seed is refused; unseeded, TGI picks seeds."""

    def __call__(self, request: ReceivedRequest) -> tuple[int, object]:
        parameters = request.body["parameters"]
        best_of = parameters.get("best_of") or 1
        if best_of > 1 and parameters.get("seed") is not None:
            return 422, {
                "error": "Input validation error: `seed` must not be set when `best_of` > 1",
                "error_type": "validation",
            }
        if best_of > 1:
            answer = recorded_answer(None, best_of)
            answer["details"]["seed"] = 1000
            for k, sequence in enumerate(answer["details"]["best_of_sequences"], start=1):
                sequence["seed"] = 1000 + k
            return 200, answer
        return 200, recorded_answer(parameters["seed"], 1)


def test_seeded_best_of_refusal_falls_back_to_seeded_requests(tiny_model_dir: Path) -> None:
    with ScriptedServer(RealTGIValidation()) as server:
        spec = ModelSpec(model=str(tiny_model_dir), backend="tgi", base_url=server.url, prompt_format="raw")
        params = SamplingParams(temperature=0.5, top_p=0.9, max_new_tokens=12, n=2, seed=5)
        completions = generate(spec=spec, requests=REQUESTS[:1], params=params)
    assert [(c.sample_index, c.seed) for c in completions] == [(0, 5), (1, 6)]
    first = completions[0]
    assert first.text == "100% open source and built to be easy to use."
    assert first.rendered_prompt == "Q: Tell me a story.\nA:"
    assert (first.finish_reason, first.token_count) == ("length", 12)
    assert first.logprob_sum == pytest.approx(sum(lp for _, _, lp in RECORDED_TOKENS))
    bodies = [request.body for request in server.received]
    assert [request.path for request in server.received] == ["/generate"] * 3
    assert bodies[0]["parameters"]["best_of"] == 2 and bodies[0]["parameters"]["seed"] == 5
    assert sorted(body["parameters"]["seed"] for body in bodies[1:]) == [5, 6]
    assert all("best_of" not in body["parameters"] for body in bodies[1:])
    assert bodies[0] == {
        "inputs": "Q: Tell me a story.\nA:",
        "parameters": {
            "details": True,
            "decoder_input_details": False,
            "do_sample": True,
            "max_new_tokens": 12,
            "stop": [],
            "temperature": 0.5,
            "top_p": 0.9,
            "seed": 5,
            "best_of": 2,
        },
    }


def test_unseeded_best_of_refusal_retries_best_of_without_seed(tiny_model_dir: Path) -> None:
    with ScriptedServer(RealTGIValidation()) as server:
        spec = ModelSpec(model=str(tiny_model_dir), backend="tgi", base_url=server.url, prompt_format="raw")
        completions = generate(
            spec=spec, requests=REQUESTS[:1], params=SamplingParams(max_new_tokens=12, n=3)
        )
    assert [(c.sample_index, c.seed) for c in completions] == [(0, 1000), (1, 1001), (2, 1002)]
    assert [c.text for c in completions] == [
        "100% open source and built to be easy to use.",
        "other 1",
        "other 2",
    ]
    parameters = [request.body["parameters"] for request in server.received]
    assert len(parameters) == 2 and "seed" in parameters[0] and "seed" not in parameters[1]
    assert parameters[1]["best_of"] == 3


def test_chat_prompt_needs_a_loadable_tokenizer() -> None:
    spec = ModelSpec(model="no-such-org/no-such-model", backend="tgi", base_url="http://127.0.0.1:9")
    with pytest.raises(InferenceError, match="prompt_format='raw'"):
        generate(spec=spec, requests=REQUESTS[:1], params=SamplingParams(max_new_tokens=2))
