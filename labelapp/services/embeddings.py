"""Sentence embeddings of the candidates a set-wise campaign shows, computed once and stored.

The diversity report reads them (`selectors.reports.diversity_report_for`) and never embeds anything
itself, so a page stays fast however large the campaign: `report --kind diversity` embeds what is
missing first, and the report page queues the same work as a job for a worker on queue "inference".
"""

from collections.abc import Callable

from django.db import transaction

from labelapp.kinds import setwise
from labelapp.models import Campaign, Candidate, CandidateEmbedding, EmbeddingJob
from labelapp.reports import embeddings
from labelapp.reports.embeddings import EMBEDDING_MODEL, text_sha256, vector_bytes
from labelapp.services.jobs import job_claim, job_progress, job_run_inline, job_succeed

BATCH = 64  # texts per model call, saved per call so a stopped run resumes where it was

ProgressCallback = Callable[[EmbeddingJob], None]


def _candidates(campaign: Campaign) -> list[Candidate]:
    """The candidates of the campaign's non-gold set-wise items, oldest first."""
    return list(
        Candidate.objects.filter(
            slots__item__campaign=campaign, slots__item__kind=setwise.NAME, slots__item__is_gold=False
        )
        .distinct()
        .only("pk", "text")
        .order_by("pk")
    )


@transaction.atomic
def embedding_job_create(*, campaign: Campaign) -> EmbeddingJob:
    """A job embedding the campaign's set-wise candidates that have no current embedding."""
    job = EmbeddingJob(campaign=campaign, model=EMBEDDING_MODEL)
    job.full_clean()
    job.save()
    return job


def embedding_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> EmbeddingJob:
    """Embed every candidate of the campaign's set-wise items that has no current embedding.

    Idempotent: current embeddings are kept, stale ones (the text changed) replaced, and two runs at once
    never store one twice (the unique constraint; the second's rows are dropped). Embeddings are saved per
    batch with the job's progress, so a retried job resumes where it stopped.
    """
    job = job_claim(model=EmbeddingJob, job_id=job_id)
    if job is None:
        return EmbeddingJob.objects.get(pk=job_id)
    candidates = _candidates(job.campaign)
    current = {
        candidate_id: sha
        for candidate_id, sha in CandidateEmbedding.objects.filter(
            model=job.model, candidate__in=candidates
        ).values_list("candidate_id", "text_sha256")
    }
    missing = [c for c in candidates if current.get(c.pk) != text_sha256(c.text)]
    stale = [c.pk for c in missing if c.pk in current]
    CandidateEmbedding.objects.filter(model=job.model, candidate_id__in=stale).delete()
    done = job.progress_done  # embedded by an earlier run of this job
    job_progress(job=job, done=done, total=done + len(missing), already=len(candidates) - len(missing) - done)
    for start in range(0, len(missing), BATCH):
        batch = missing[start : start + BATCH]
        vectors = embeddings.text_embeddings([c.text for c in batch])
        done += len(batch)
        with transaction.atomic():
            CandidateEmbedding.objects.bulk_create(
                [
                    CandidateEmbedding(
                        candidate=candidate,
                        model=job.model,
                        text_sha256=text_sha256(candidate.text),
                        vector=vector_bytes(vector),
                    )
                    for candidate, vector in zip(batch, vectors, strict=True)
                ],
                ignore_conflicts=True,
            )
            job_progress(job=job, done=done)
        if on_progress:
            on_progress(job)
    return job_succeed(job=job)


def candidate_embeddings_compute(
    *, campaign: Campaign, on_progress: ProgressCallback | None = None
) -> EmbeddingJob:
    """Embed now, in this process (the command line), as a job the manage page lists like a worker's."""
    return job_run_inline(
        job=embedding_job_create(campaign=campaign), run=embedding_job_run, on_progress=on_progress
    )
