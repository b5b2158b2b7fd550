"""Generation jobs through the remote backends, against scripted servers that answer as the real ones do."""

import copy
import threading

import pytest

import inference.remote
from labelapp.models import Candidate, GenerationJob, Generator, JobStatus, Prompt
from labelapp.services.generation import generation_job_run, generation_jobs_create
from labelapp.services.jobs import job_requeue
from tests.inference.recorded import LLAMA_CPP_CONTEXT_REFUSAL, OPENAI_CHAT_EXAMPLE, recorded_answer
from tests.inference.servers import ReceivedRequest, ScriptedServer

WAIT_S = 30  # only ever reached when the behaviour under test is broken
LONG_PROMPTS = ("long", "Q: long\nA:")  # as openai-chat and tgi (a raw prompt) send it


@pytest.fixture(autouse=True)
def no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.remote, "RETRY_DELAYS_S", (0.0, 0.0))


def remote_generator(server: ScriptedServer, backend: str, concurrency: int = 4) -> Generator:
    base_url = server.url if backend == "tgi" else f"{server.url}/v1"
    # Raw prompts: the scripted servers need no tokenizer to render a chat template.
    prompt_format = "raw" if backend == "tgi" else "chat"
    return Generator.objects.create(
        name=backend,
        backend=backend,
        model="m",
        base_url=base_url,
        prompt_format=prompt_format,
        concurrency=concurrency,
    )


def run_job(campaign, generator, on_progress=None, **params):
    (job,) = generation_jobs_create(
        campaign=campaign,
        generator=generator,
        params_list=[inference.SamplingParams(**{"seed": 1, "max_new_tokens": 12, **params})],
    )
    return generation_job_run(job_id=job.pk, on_progress=on_progress)


def prompt_text(request: ReceivedRequest) -> str:
    body = request.body
    return body["inputs"] if "inputs" in body else body["messages"][-1]["content"]


def test_each_prompt_is_written_as_soon_as_its_answer_is_in(campaign):
    slow_may_answer = threading.Event()
    released_by_progress = []

    def answer(request: ReceivedRequest) -> tuple[int, object]:
        if prompt_text(request) == "slow":
            released_by_progress.append(slow_may_answer.wait(WAIT_S))
        return 200, copy.deepcopy(OPENAI_CHAT_EXAMPLE)

    def progress(job) -> None:
        seen.append((job.progress_done, Candidate.objects.filter(job=job).count()))
        slow_may_answer.set()

    seen: list[tuple[int, int]] = []
    Prompt.objects.create(campaign=campaign, text="slow")
    Prompt.objects.create(campaign=campaign, text="fast")
    with ScriptedServer(answer) as server:
        job = run_job(campaign, remote_generator(server, "openai-chat"), on_progress=progress)
    assert job.status == JobStatus.SUCCEEDED
    # The fast prompt's candidate was stored (and shown) while the slow one was still being generated.
    assert seen == [(1, 1), (2, 2)] and released_by_progress == [True]


def test_the_generator_concurrency_is_the_number_of_requests_in_flight(campaign):
    lock, in_flight, most = threading.Condition(), [0], [0]

    def answer(request: ReceivedRequest) -> tuple[int, object]:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            lock.notify_all()
            lock.wait_for(lambda: most[0] >= 3, timeout=WAIT_S)  # hold the first requests until 3 are in
        with lock:
            in_flight[0] -= 1
        return 200, copy.deepcopy(OPENAI_CHAT_EXAMPLE)

    for number in range(9):
        Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
    with ScriptedServer(answer) as server:
        job = run_job(campaign, remote_generator(server, "openai-chat", concurrency=3))
    assert job.status == JobStatus.SUCCEEDED and job.progress_done == 9
    assert most[0] == 3


@pytest.mark.parametrize("backend", ["openai-chat", "tgi"])
def test_a_prompt_too_long_fails_alone_and_a_retry_sends_only_it(campaign, backend):
    refuse = [True]

    def answer(request: ReceivedRequest) -> tuple[int, object]:
        if refuse[0] and prompt_text(request) in LONG_PROMPTS:
            if backend == "tgi":  # TGI's validation answer
                return 422, {
                    "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048. "
                    "Given: 2100 `inputs` tokens and 12 `max_new_tokens`",
                    "error_type": "validation",
                }
            return 400, copy.deepcopy(LLAMA_CPP_CONTEXT_REFUSAL)
        if backend == "tgi":
            return 200, recorded_answer(request.body["parameters"].get("seed"), 1)
        return 200, copy.deepcopy(OPENAI_CHAT_EXAMPLE)

    short = Prompt.objects.create(campaign=campaign, text="short")
    long = Prompt.objects.create(campaign=campaign, text="long")
    with ScriptedServer(answer) as server:
        generator = remote_generator(server, backend)
        job = run_job(campaign, generator)
        assert job.status == JobStatus.PARTIAL and job.outcome == "completed with 1 failed prompt"
        ((failure),) = job.prompt_failures
        assert failure["prompt"] == long.pk and "rejected the request: HTTP 4" in failure["message"]
        assert ("must be <= 2048" if backend == "tgi" else "exceeds the available context size") in failure[
            "message"
        ]
        assert list(Candidate.objects.values_list("prompt_id", flat=True)) == [short.pk]

        refuse[0] = False
        server.received.clear()
        job_requeue(model=GenerationJob, job_id=job.pk)
        job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.prompt_failures == []
    assert [prompt_text(request) in LONG_PROMPTS for request in server.received] == [True]
    assert Candidate.objects.filter(prompt=long).count() == 1
