import math
from dataclasses import replace
from pathlib import Path

import pytest

from inference import Completion, GenerationRequest, ModelSpec, SamplingParams, generate, render_prompt
from inference.model_spec import resolve_model_location
from inference.transformers_backend import count_prompt_tokens, load_tokenizer

PROMPTS = ("Tell me a story.", "What is 2 + 2?", "Name a colour, any colour you like.")


@pytest.fixture(scope="module")
def spec(tiny_model_dir: Path) -> ModelSpec:
    return ModelSpec(model=str(tiny_model_dir))


def requests(*prompts: str) -> list[GenerationRequest]:
    return [GenerationRequest(prompt=prompt) for prompt in prompts]


def test_completions_are_ordered_by_request_then_sample(spec: ModelSpec) -> None:
    completions = generate(
        spec=spec, requests=requests(*PROMPTS), params=SamplingParams(max_new_tokens=6, n=2, seed=1)
    )
    assert [(c.request_index, c.sample_index) for c in completions] == [
        (r, s) for r in range(3) for s in range(2)
    ]
    assert all("<|im_start|>user\n" + PROMPTS[c.request_index] in c.rendered_prompt for c in completions)


def test_length_finish_and_logprob_bookkeeping(spec: ModelSpec) -> None:
    completions = generate(
        spec=spec, requests=requests(*PROMPTS), params=SamplingParams(max_new_tokens=5, n=2, seed=3)
    )
    for completion in completions:
        assert completion.finish_reason == "length"
        assert completion.token_count == 5
        assert completion.text
        assert math.isfinite(completion.logprob_sum)
        assert completion.logprob_sum < 0
        assert completion.logprob_mean == pytest.approx(completion.logprob_sum / completion.token_count)


def generate_with_progress(
    spec: ModelSpec, params: SamplingParams
) -> tuple[list[Completion], list[tuple[int, int]]]:
    progress: list[tuple[int, int]] = []
    completions = generate(
        spec=spec,
        requests=requests(*PROMPTS),
        params=params,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    return completions, progress


def test_tiny_budget_gives_one_request_per_batch(spec: ModelSpec) -> None:
    tight = replace(spec, batch_tokens=1)
    completions, progress = generate_with_progress(tight, SamplingParams(max_new_tokens=4, seed=100))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert [c.seed for c in completions] == [100, 101, 102]


def test_rows_of_one_request_are_split_when_over_budget(spec: ModelSpec) -> None:
    tight = replace(spec, batch_tokens=1)
    completions, progress = generate_with_progress(tight, SamplingParams(max_new_tokens=4, n=2, seed=100))
    assert progress == [(0, 3), (1, 3), (1, 3), (2, 3), (2, 3), (3, 3)]
    assert [(c.request_index, c.sample_index, c.seed) for c in completions] == [
        (0, 0, 100),
        (0, 1, 101),
        (1, 0, 102),
        (1, 1, 103),
        (2, 0, 104),
        (2, 1, 105),
    ]


def test_default_budget_fits_everything_in_one_batch(spec: ModelSpec) -> None:
    completions, progress = generate_with_progress(spec, SamplingParams(max_new_tokens=4, n=2, seed=100))
    assert progress == [(3, 3)]
    assert {c.seed for c in completions} == {100}


def test_two_requests_per_batch(spec: ModelSpec) -> None:
    params = SamplingParams(max_new_tokens=4, n=2, seed=5)
    tokenizer = load_tokenizer(resolve_model_location(spec))
    prompts = [render_prompt(spec=spec, request=request) for request in requests(*PROMPTS)]
    longest = max(count_prompt_tokens(tokenizer, prompts, add_special_tokens=False))
    budget = 2 * params.n * (longest + params.max_new_tokens)
    completions, progress = generate_with_progress(replace(spec, batch_tokens=budget), params)
    assert progress == [(2, 3), (3, 3)]
    assert [c.seed for c in completions] == [5, 5, 5, 5, 6, 6]


def texts(completions: list[Completion]) -> list[str]:
    return [c.text for c in completions]


def test_same_seed_reproduces_samples(spec: ModelSpec) -> None:
    params = SamplingParams(temperature=1.0, max_new_tokens=8, n=2, seed=42)
    first = generate(spec=spec, requests=requests(*PROMPTS[:2]), params=params)
    second = generate(spec=spec, requests=requests(*PROMPTS[:2]), params=params)
    assert texts(first) == texts(second)
    assert [c.logprob_sum for c in first] == pytest.approx([c.logprob_sum for c in second])
    assert first[0].text != first[1].text
    other = generate(
        spec=spec,
        requests=requests(*PROMPTS[:2]),
        params=SamplingParams(temperature=1.0, max_new_tokens=8, n=2, seed=43),
    )
    assert texts(other) != texts(first)


def test_random_seed_is_reported(spec: ModelSpec) -> None:
    completions = generate(spec=spec, requests=requests(PROMPTS[0]), params=SamplingParams(max_new_tokens=2))
    seed = completions[0].seed
    assert 0 <= seed < 2**31
    again = generate(
        spec=spec, requests=requests(PROMPTS[0]), params=SamplingParams(max_new_tokens=2, seed=seed)
    )
    assert texts(again) == texts(completions)


def test_greedy_samples_are_identical(spec: ModelSpec) -> None:
    completions = generate(
        spec=spec, requests=requests(PROMPTS[0]), params=SamplingParams(temperature=0, max_new_tokens=6, n=3)
    )
    assert [c.sample_index for c in completions] == [0, 1, 2]
    assert len(set(texts(completions))) == 1


def test_stop_sequence_truncates_text_and_counts(spec: ModelSpec) -> None:
    request = requests(PROMPTS[1])
    greedy = SamplingParams(temperature=0, max_new_tokens=12)
    (full,) = generate(spec=spec, requests=request, params=greedy)
    middle = len(full.text) // 2
    stop = full.text[middle : middle + 3]
    expected_text = full.text[: full.text.find(stop)]

    (stopped,) = generate(spec=spec, requests=request, params=replace(greedy, stop=(stop,)))
    assert stopped.finish_reason == "stop"
    assert stopped.text == expected_text
    assert stop not in stopped.text
    assert 1 <= stopped.token_count < full.token_count

    # The counted tokens are exactly those of a run that ends where the stop sequence was completed.
    (prefix,) = generate(
        spec=spec, requests=request, params=SamplingParams(temperature=0, max_new_tokens=stopped.token_count)
    )
    assert full.text.startswith(prefix.text) and stop in prefix.text
    assert stopped.logprob_sum == pytest.approx(prefix.logprob_sum, rel=1e-5)


def test_raw_prompt_format_feeds_template(spec: ModelSpec) -> None:
    raw = replace(spec, prompt_format="raw", raw_template="Q: {prompt}\nA:")
    (completion,) = generate(
        spec=raw, requests=requests("hi"), params=SamplingParams(max_new_tokens=3, seed=0, stop=("\nQ:",))
    )
    assert completion.rendered_prompt == "Q: hi\nA:"
    assert completion.token_count <= 3


def test_no_requests_gives_no_completions(spec: ModelSpec) -> None:
    assert generate(spec=spec, requests=[], params=SamplingParams()) == []
