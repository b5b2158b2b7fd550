import pytest

import inference
from labelapp.errors import ApplicationError
from labelapp.models import Candidate, GenerationJobStatus, Prompt
from labelapp.services import generation
from labelapp.services.generation import generation_job_create, generation_job_run, sampling_params_for
from labelapp.tasks import generation_job_run_task


@pytest.fixture
def prompts(campaign):
    Prompt.objects.create(campaign=campaign, text="Name a colour.")
    Prompt.objects.create(campaign=campaign, messages=[{"role": "user", "content": "Name a fruit."}])
    return list(campaign.prompts.all())


def test_job_writes_n_candidates_per_prompt_with_their_provenance(
    campaign, generator, prompts, fake_generate
):
    params = inference.SamplingParams(n=3, temperature=0.9, seed=5, max_new_tokens=16)
    job = generation_job_create(campaign=campaign, generator=generator, params=params)
    seen = []
    job = generation_job_run(job_id=job.pk, on_progress=lambda j: seen.append(j.prompts_done))

    assert (
        job.status == GenerationJobStatus.SUCCEEDED and job.prompts_done == 2 and job.tokens_generated == 24
    )
    assert seen == [2]
    fruit = Candidate.objects.filter(prompt=prompts[1]).order_by("sample_index")
    assert [c.text for c in fruit] == [f"Answer {i} to: Name a fruit." for i in range(3)]
    first = fruit[0]
    assert first.params["temperature"] == 0.9 and first.params["n"] == 3
    assert (first.finish_reason, first.token_count, first.logprob_mean, first.generator) == (
        "eos",
        4,
        -0.5,
        generator,
    )
    # Chat prompts go to the model as messages, plain prompts as text.
    requests = fake_generate.calls[0]["requests"]
    assert requests[0].prompt == "Name a colour." and requests[1].messages[0]["content"] == "Name a fruit."


def test_a_crashed_job_resumes_without_duplicate_candidates(
    campaign, generator, prompts, fake_generate, monkeypatch
):
    monkeypatch.setattr(generation, "PROMPTS_PER_CHUNK", 1)
    job = generation_job_create(campaign=campaign, generator=generator, params=inference.SamplingParams(n=2))
    fake_generate.fail_on_call = 2
    with pytest.raises(RuntimeError):
        generation_job_run(job_id=job.pk)
    assert Candidate.objects.filter(job=job).count() == 2

    fake_generate.fail_on_call = None
    job = generation_job_run(job_id=job.pk)
    assert job.status == GenerationJobStatus.SUCCEEDED
    assert Candidate.objects.filter(job=job).count() == 4
    assert len(fake_generate.calls) == 3  # the first prompt was not generated again


def test_running_a_finished_job_again_does_nothing(campaign, generator, prompts, fake_generate):
    job = generation_job_create(campaign=campaign, generator=generator, params=inference.SamplingParams())
    generation_job_run(job_id=job.pk)
    generation_job_run(job_id=job.pk)
    assert len(fake_generate.calls) == 1 and Candidate.objects.count() == 2


def test_task_marks_the_job_failed_with_the_error(campaign, generator, prompts, fake_generate, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    fake_generate.fail_on_call = 1
    job = generation_job_create(campaign=campaign, generator=generator, params=inference.SamplingParams())
    generation_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == GenerationJobStatus.FAILED
    assert job.error == "RuntimeError: GPU fell over"


def test_a_campaign_without_prompts_cannot_generate(campaign, generator):
    with pytest.raises(ApplicationError, match="has no prompts"):
        generation_job_create(campaign=campaign, generator=generator, params=inference.SamplingParams())


def test_job_params_override_generator_defaults_and_bad_values_are_named(generator):
    params = sampling_params_for(generator=generator, overrides={"temperature": 0.2, "top_p": None})
    assert (params.temperature, params.max_new_tokens) == (0.2, 8)
    with pytest.raises(ApplicationError, match="top_p"):
        sampling_params_for(generator=generator, overrides={"top_p": 3})
