"""Sentence embeddings of the candidates a set-wise campaign shows, computed once and stored.

The diversity report reads them (`selectors.reports.diversity_report_for`) and never embeds anything
itself, so a page stays fast however large the campaign: `report --kind diversity` embeds what is
missing first, and the report page queues the same work for a worker on queue "inference".
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labelapp.kinds import setwise
from labelapp.models import Campaign, Candidate, CandidateEmbedding
from labelapp.reports import embeddings

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
BATCH = 64  # texts per model call, saved per call so a stopped run resumes where it was

ProgressCallback = Callable[[int, int], None]  # (embedded so far, to embed in all)


@dataclass(frozen=True)
class EmbeddingRun:
    embedded: int
    already: int  # candidates whose stored embedding is still current


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")


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


def candidate_embeddings_compute(
    *, campaign: Campaign, on_progress: ProgressCallback | None = None
) -> EmbeddingRun:
    """Embed every candidate of the campaign's set-wise items that has no current embedding.

    Idempotent: current embeddings are kept, stale ones (the text changed) replaced, and two runs at once
    never store one twice (the unique constraint; the second's rows are dropped).
    """
    candidates = _candidates(campaign)
    current = {
        candidate_id: sha
        for candidate_id, sha in CandidateEmbedding.objects.filter(
            model=EMBEDDING_MODEL, candidate__in=candidates
        ).values_list("candidate_id", "text_sha256")
    }
    missing = [c for c in candidates if current.get(c.pk) != text_sha256(c.text)]
    stale = [c.pk for c in missing if c.pk in current]
    CandidateEmbedding.objects.filter(model=EMBEDDING_MODEL, candidate_id__in=stale).delete()
    done = 0
    for start in range(0, len(missing), BATCH):
        batch = missing[start : start + BATCH]
        vectors = embeddings.text_embeddings([c.text for c in batch])
        CandidateEmbedding.objects.bulk_create(
            [
                CandidateEmbedding(
                    candidate=candidate,
                    model=EMBEDDING_MODEL,
                    text_sha256=text_sha256(candidate.text),
                    vector=vector_bytes(vector),
                )
                for candidate, vector in zip(batch, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
        done += len(batch)
        if on_progress:
            on_progress(done, len(missing))
    return EmbeddingRun(embedded=done, already=len(candidates) - len(missing))


def candidate_embeddings_enqueue(*, campaign: Campaign) -> None:
    from labelapp.tasks import candidate_embeddings_task  # tasks.py imports this module

    candidate_embeddings_task.delay_on_commit(campaign.pk)
