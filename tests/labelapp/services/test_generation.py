import pytest

import inference
from labelapp.errors import ApplicationError
from labelapp.models import Candidate, CandidateStep, GenerationJob, Generator, JobStatus, Prompt
from labelapp.services import generation
from labelapp.services.generation import (
    generation_job_run,
    generation_jobs_create,
    generator_model_spec,
    sampling_params_for,
    sampling_params_sweep,
)
from labelapp.services.jobs import job_enqueue, job_fail, job_requeue
from labelapp.tasks import generation_job_run_task


@pytest.fixture
def prompts(campaign):
    Prompt.objects.create(campaign=campaign, text="Name a colour.")
    Prompt.objects.create(campaign=campaign, messages=[{"role": "user", "content": "Name a fruit."}])
    return list(campaign.prompts.all())


def job_for(campaign, generator, strategy="sample", **params):
    (job,) = generation_jobs_create(
        campaign=campaign,
        generator=generator,
        params_list=[inference.SamplingParams(**{"seed": 1, **params})],
        strategy=strategy,
    )
    return job


def test_job_writes_n_candidates_per_prompt_with_their_provenance(
    campaign, generator, prompts, fake_generate
):
    job = job_for(campaign, generator, n=3, temperature=0.9, seed=5, max_new_tokens=16)
    seen = []
    job = generation_job_run(job_id=job.pk, on_progress=lambda j: seen.append(j.progress_done))

    assert job.status == JobStatus.SUCCEEDED and job.progress_done == 2 and job.tokens_generated == 24
    assert seen == [2] and job.started_at is not None and job.tokens_per_second is not None
    fruit = Candidate.objects.filter(prompt=prompts[1]).order_by("sample_index")
    assert [c.text for c in fruit] == [f"Answer {i} to: Name a fruit." for i in range(3)]
    first = fruit[0]
    assert (
        first.params["temperature"] == 0.9 and first.params["n"] == 3 and first.step == CandidateStep.ANSWER
    )
    assert (first.finish_reason, first.token_count, first.logprob_mean, first.generator) == (
        "eos",
        4,
        -0.5,
        generator,
    )
    # Chat prompts go to the model as messages, plain prompts as text; the seed depends on the chunk.
    call = fake_generate.calls[0]
    assert (
        call["requests"][0].prompt == "Name a colour."
        and call["requests"][1].messages[0]["content"] == "Name a fruit."
    )
    assert call["params"].seed == 5 + prompts[0].pk


def test_a_crashed_job_resumes_without_duplicate_candidates(
    campaign, generator, prompts, fake_generate, monkeypatch
):
    monkeypatch.setattr(generation, "PROMPTS_PER_CHUNK", 1)
    job = job_for(campaign, generator, n=2)
    fake_generate.fail_on_call = 2
    with pytest.raises(RuntimeError):
        generation_job_run(job_id=job.pk)
    assert Candidate.objects.filter(job=job).count() == 2

    fake_generate.fail_on_call = None
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert Candidate.objects.filter(job=job).count() == 4
    assert len(fake_generate.calls) == 3  # the first prompt was not generated again


def test_a_failed_job_can_be_requeued_and_resumes(campaign, generator, prompts, fake_generate, monkeypatch):
    monkeypatch.setattr(generation, "PROMPTS_PER_CHUNK", 1)
    job = job_for(campaign, generator)
    fake_generate.fail_on_call = 2
    with pytest.raises(RuntimeError):
        generation_job_run(job_id=job.pk)
    job_fail(model=GenerationJob, job_id=job.pk, error="RuntimeError: GPU fell over")
    assert generation_job_run(job_id=job.pk).status == JobStatus.FAILED  # failed jobs stay failed

    fake_generate.fail_on_call = None
    job_requeue(model=GenerationJob, job_id=job.pk)
    job = generation_job_run(job_id=job.pk)
    assert (job.status, job.error, Candidate.objects.count()) == (JobStatus.SUCCEEDED, "", 2)
    with pytest.raises(ApplicationError, match="already succeeded"):
        job_requeue(model=GenerationJob, job_id=job.pk)


def test_a_new_job_with_the_same_params_and_seed_writes_nothing_twice(
    campaign, generator, prompts, fake_generate
):
    generation_job_run(job_id=job_for(campaign, generator, n=2, seed=9).pk)
    again = generation_job_run(job_id=job_for(campaign, generator, n=2, seed=9).pk)
    assert again.status == JobStatus.SUCCEEDED and again.progress_done == 2
    assert len(fake_generate.calls) == 1 and Candidate.objects.count() == 4


def test_every_job_gets_a_seed_so_unseeded_jobs_differ(generator):
    first = sampling_params_for(generator=generator, overrides={})
    second = sampling_params_for(generator=generator, overrides={"seed": None})
    assert first.seed is not None and second.seed is not None and first.seed != second.seed


def test_a_temperature_sweep_makes_one_job_per_temperature(campaign, generator, prompts, fake_generate):
    params_list = sampling_params_sweep(
        generator=generator, overrides={"n": 2, "seed": 3}, temperatures=[0.3, 0.7, 1.0]
    )
    jobs = generation_jobs_create(campaign=campaign, generator=generator, params_list=params_list)
    for job in jobs:
        generation_job_run(job_id=job.pk)
    assert [job.params["temperature"] for job in jobs] == [0.3, 0.7, 1.0]
    temperatures = sorted({c.params["temperature"] for c in Candidate.objects.all()})
    assert temperatures == [0.3, 0.7, 1.0] and Candidate.objects.count() == 12


def test_self_critique_stores_answer_critique_and_revision_linked(
    campaign, generator, prompts, fake_generate
):
    job = job_for(campaign, generator, strategy="self-critique", n=2)
    generation_job_run(job_id=job.pk)

    answers = Candidate.objects.filter(step=CandidateStep.ANSWER)
    assert answers.count() == 4
    for answer in answers:
        critique = answer.children.get()
        revision = critique.children.get()
        assert (critique.step, revision.step) == (CandidateStep.CRITIQUE, CandidateStep.REVISION)
        assert critique.sample_index == revision.sample_index == answer.sample_index
        assert critique.prompt_id == revision.prompt_id == answer.prompt_id
    critique_call, revision_call = fake_generate.calls[1], fake_generate.calls[2]
    first_critique = critique_call["requests"][0].messages
    assert [m["role"] for m in first_critique] == ["user", "assistant", "user"]
    assert (
        first_critique[1]["content"] == "Answer 0 to: Name a colour."
        and "errors" in first_critique[2]["content"]
    )
    assert [m["role"] for m in revision_call["requests"][0].messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert critique_call["params"].n == 1 and revision_call["params"].n == 1


def test_self_critique_needs_a_chat_generator(campaign, prompts):
    raw = Generator.objects.create(name="base", model="embedded", prompt_format="raw")
    with pytest.raises(ApplicationError, match="needs a chat generator"):
        job_for(campaign, raw, strategy="self-critique")


def test_task_marks_the_job_failed_with_the_error(campaign, generator, prompts, fake_generate, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    fake_generate.fail_on_call = 1
    job = job_for(campaign, generator)
    generation_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "RuntimeError: GPU fell over"


def test_a_campaign_without_prompts_cannot_generate(campaign, generator):
    with pytest.raises(ApplicationError, match="has no prompts"):
        job_for(campaign, generator)


def test_job_params_override_generator_defaults_and_bad_values_are_named(generator):
    params = sampling_params_for(generator=generator, overrides={"temperature": 0.2, "top_p": None})
    assert (params.temperature, params.max_new_tokens) == (0.2, 8)
    with pytest.raises(ApplicationError, match="top_p"):
        sampling_params_for(generator=generator, overrides={"top_p": 3})


def test_a_remote_generator_reads_its_api_key_from_the_named_environment_variable(db, monkeypatch):
    remote = Generator.objects.create(
        name="vllm",
        backend="openai-chat",
        model="Qwen/Qwen2.5-0.5B-Instruct",
        base_url="http://127.0.0.1:8000/v1",
        api_key_env="VLLM_KEY",
    )
    monkeypatch.delenv("VLLM_KEY", raising=False)
    with pytest.raises(ApplicationError, match=r"reads its API key from \$VLLM_KEY, which is not set"):
        generator_model_spec(remote)
    monkeypatch.setenv("VLLM_KEY", "sk-test")
    spec = generator_model_spec(remote)
    assert (spec.backend, spec.base_url, spec.api_key, spec.model) == (
        "openai-chat",
        "http://127.0.0.1:8000/v1",
        "sk-test",
        "Qwen/Qwen2.5-0.5B-Instruct",
    )
    assert "sk-test" not in repr(spec)


class FlakyServer:
    """Answers like FakeGenerate once it is 'up'; before that, fails the way a remote backend does."""

    def __init__(self, fake_generate, failures: int) -> None:
        self.fake, self.failures = fake_generate, failures

    def __call__(self, **kwargs):
        if self.failures:
            self.failures -= 1
            raise inference.InferenceUnavailable(
                "TGI server http://127.0.0.1:9/generate unreachable: Connection refused"
            )
        return self.fake.each(**kwargs)


def test_the_task_retries_a_server_that_comes_back(
    campaign, generator, prompts, fake_generate, settings, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(inference, "generate_each", FlakyServer(fake_generate, failures=2))
    job = job_for(campaign, generator)
    generation_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and Candidate.objects.count() == 2


def test_a_server_that_stays_down_fails_the_job_naming_the_url(
    campaign, generator, prompts, fake_generate, settings, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(inference, "generate_each", FlakyServer(fake_generate, failures=100))
    job = job_for(campaign, generator)
    generation_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert (
        job.error
        == "InferenceUnavailable: TGI server http://127.0.0.1:9/generate unreachable: Connection refused"
    )
    assert Candidate.objects.count() == 0


def test_a_job_the_broker_cannot_take_fails_with_a_message_instead_of_staying_queued(
    campaign, generator, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(generation_job_run_task, "apply_async", broker_down)
    Prompt.objects.create(campaign=campaign, text="Q?")
    (job,) = generation_jobs_create(
        campaign=campaign,
        generator=generator,
        params_list=[sampling_params_for(generator=generator, overrides={})],
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "broker is unreachable" in job.error and "Connection refused" in job.error


CONTEXT_REFUSAL = (
    "OpenAI-compatible server http://gpu-1:8000/v1/chat/completions rejected the request: HTTP 400: "
    "request (2100 tokens) exceeds the available context size (2048 tokens), try increasing it"
)


def test_a_prompt_the_server_refuses_fails_alone_and_a_retry_runs_only_it(
    campaign, generator, prompts, fake_generate
):
    fake_generate.refuse = {"Name a colour.": CONTEXT_REFUSAL}
    job = generation_job_run(job_id=job_for(campaign, generator, n=2).pk)

    assert job.status == JobStatus.PARTIAL and job.is_finished
    assert job.outcome == "completed with 1 failed prompt" and job.error == ""
    assert job.prompt_failures == [{"prompt": prompts[0].pk, "message": CONTEXT_REFUSAL}]
    assert job.progress_done == 1
    assert {c.prompt_id for c in Candidate.objects.all()} == {prompts[1].pk}

    fake_generate.refuse, fake_generate.calls = {}, []
    job_requeue(model=GenerationJob, job_id=job.pk)
    job = generation_job_run(job_id=job.pk)
    assert (job.status, job.prompt_failures, job.progress_done) == (JobStatus.SUCCEEDED, [], 2)
    (call,) = fake_generate.calls
    assert [r.prompt for r in call["requests"]] == ["Name a colour."]  # only the failed prompt ran again
    assert Candidate.objects.filter(prompt=prompts[0]).count() == 2


def test_a_refused_critique_fails_its_prompt_in_a_self_critique_job(
    campaign, generator, prompts, fake_generate, monkeypatch
):
    def refuse_critiques_of_colours(*, spec, requests, params):
        for result in fake_generate.each(spec=spec, requests=requests, params=params):
            messages = requests[result.request_index].messages or ()
            if len(messages) == 3 and "colour" in messages[0]["content"]:
                yield inference.RequestResult(
                    request_index=result.request_index, refusal="HTTP 400: too long"
                )
            else:
                yield result

    monkeypatch.setattr(inference, "generate_each", refuse_critiques_of_colours)
    job = generation_job_run(job_id=job_for(campaign, generator, strategy="self-critique", n=2).pk)

    assert job.outcome == "completed with 1 failed prompt"
    assert job.prompt_failures == [{"prompt": prompts[0].pk, "message": "HTTP 400: too long"}]
    assert not Candidate.objects.filter(prompt=prompts[0]).exists()
    fruit = Candidate.objects.filter(prompt=prompts[1])
    assert (
        sorted(fruit.values_list("step", flat=True)) == ["answer"] * 2 + ["critique"] * 2 + ["revision"] * 2
    )
