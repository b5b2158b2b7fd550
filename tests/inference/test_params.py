import subprocess
import sys
from pathlib import Path

import pytest

from inference import GenerationRequest, InferenceError, ModelSpec, SamplingParams

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_importing_inference_does_not_import_torch() -> None:
    code = "import inference, sys; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_sampling_params_round_trip_through_dict() -> None:
    params = SamplingParams(temperature=0.5, top_k=20, stop=("\n", "Q:"), seed=7, n=3)
    data = params.to_dict()
    assert data["stop"] == ["\n", "Q:"]
    assert SamplingParams.from_dict(data) == params


def test_sampling_params_from_dict_rejects_unknown_keys_by_name() -> None:
    with pytest.raises(InferenceError, match="'temprature'"):
        SamplingParams.from_dict({"temprature": 0.3})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"temperature": -0.1}, "temperature must be >= 0"),
        ({"top_p": 0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
        ({"n": 0}, "n must be >= 1"),
        ({"top_k": 0}, "top_k must be >= 1"),
        ({"seed": -1}, "seed must be between"),
        ({"stop": "\n"}, "stop must be a list of strings"),
        ({"stop": [""]}, "non-empty strings"),
        ({"max_new_tokens": 1.5}, "max_new_tokens must be an integer"),
        ({"temperature": "hot"}, "temperature must be a finite number"),
    ],
)
def test_sampling_params_validation(data: dict, message: str) -> None:
    with pytest.raises(InferenceError, match=message):
        SamplingParams.from_dict(data)


def test_generation_request_needs_exactly_one_of_prompt_and_messages() -> None:
    with pytest.raises(InferenceError, match="exactly one"):
        GenerationRequest()
    with pytest.raises(InferenceError, match="exactly one"):
        GenerationRequest(prompt="hi", messages=({"role": "user", "content": "hi"},))


def test_generation_request_normalises_message_lists_to_tuples() -> None:
    request = GenerationRequest(messages=[{"role": "user", "content": "hi"}])
    assert request.messages == ({"role": "user", "content": "hi"},)
    with pytest.raises(InferenceError, match="role"):
        GenerationRequest(messages=[{"content": "hi"}])


def test_model_spec_validation() -> None:
    with pytest.raises(InferenceError, match="prompt_format"):
        ModelSpec(model="x", prompt_format="markdown")
    with pytest.raises(InferenceError, match="batch_tokens"):
        ModelSpec(model="x", batch_tokens=0)
    with pytest.raises(InferenceError, match=r"\{prompt\}"):
        ModelSpec(model="x", prompt_format="raw", raw_template="no placeholder")
