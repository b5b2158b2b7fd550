import math

import pytest

from inference import EMBEDDED_MODEL, GenerationRequest, SamplingParams, generate


@pytest.mark.embedded_model
def test_embedded_model_generates_chat_completions() -> None:
    requests = [
        GenerationRequest(messages=({"role": "user", "content": "What is the capital of France?"},)),
        GenerationRequest(prompt="Write one word that rhymes with cat."),
    ]
    completions = generate(
        spec=EMBEDDED_MODEL, requests=requests, params=SamplingParams(max_new_tokens=8, n=2, seed=0)
    )
    assert [(c.request_index, c.sample_index) for c in completions] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for completion in completions:
        assert completion.text.strip()
        assert 1 <= completion.token_count <= 8
        assert math.isfinite(completion.logprob_sum) and completion.logprob_sum < 0
        assert "<|im_start|>" in completion.rendered_prompt
        assert completion.rendered_prompt.endswith("<|im_start|>assistant\n")
