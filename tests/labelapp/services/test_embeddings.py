"""Embedding jobs: the set-wise candidates' embeddings computed once, saved per batch, resumed on retry."""

import re

import pytest

from labelapp.models import CandidateEmbedding, EmbeddingJob
from labelapp.reports import embeddings
from labelapp.services import embeddings as service
from labelapp.services.embeddings import embedding_job_create
from labelapp.services.jobs import job_retry
from labelapp.tasks import embedding_job_run_task
from tests.labelapp.reports.seed import hashed_words, setwise_campaign


class Embedder:
    """hashed_words in place of MiniLM; the call numbered `fail_on` raises, as a model out of memory does."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on, self.batches = fail_on, []

    def __call__(self, texts):
        self.batches.append(list(texts))
        if len(self.batches) == self.fail_on:
            raise MemoryError("out of memory")
        return hashed_words(texts)


@pytest.fixture
def sets(labeller, other_labeller, monkeypatch):
    monkeypatch.setattr(service, "BATCH", 8)
    return setwise_campaign([labeller, other_labeller])


def test_a_failed_embedding_job_is_retried_and_embeds_only_what_is_left(
    sets, staff, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    embedder = Embedder(fail_on=2)
    monkeypatch.setattr(embeddings, "text_embeddings", embedder)
    job = embedding_job_create(campaign=sets)
    embedding_job_run_task.apply(args=(job.pk,))
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "MemoryError: out of memory")
    assert (job.progress_done, job.progress_total, CandidateEmbedding.objects.count()) == (8, 21, 8)

    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job, actor=staff)
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total, job.already) == ("succeeded", 21, 21, 0)
    assert [len(batch) for batch in embedder.batches] == [8, 8, 8, 5]  # the failed batch, then what was left
    assert CandidateEmbedding.objects.count() == 21


def test_the_report_page_queues_an_embedding_job_the_manage_page_lists(
    sets, staff, client_for, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(embeddings, "text_embeddings", Embedder())
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/manage/sets/reports/diversity/embeddings/", follow=True).content.decode()
    job = EmbeddingJob.objects.get()
    assert f"(embedding job {job.pk}, on the manage page)" in page
    fragment = client.get("/manage/sets/", HTTP_HX_REQUEST="true").content.decode()
    row = re.search(rf'data-job="embeddings-{job.pk}".*?</tr>', fragment, re.S).group(0)
    assert "Succeeded" in row and "21 / 21 candidates" in row and "Retry" not in row
