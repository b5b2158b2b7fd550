from labelapp.models.audit import AuditEntry
from labelapp.models.campaigns import Campaign, CampaignKind, CampaignSelection, CampaignStatus
from labelapp.models.candidates import (
    Candidate,
    CandidateStep,
    GenerationJob,
    GenerationStrategy,
    Generator,
    GeneratorBackend,
    PromptFormat,
)
from labelapp.models.continuations import Continuation, ContinuationStop, MessageSource
from labelapp.models.embeddings import CandidateEmbedding, EmbeddingJob
from labelapp.models.exports import Export, ExportOutput
from labelapp.models.items import Item, ItemCandidate
from labelapp.models.jobs import Job, JobStatus
from labelapp.models.judge import JudgeJob, JudgeLabel
from labelapp.models.labellers import LABELLERS_GROUP, REVIEWER_SKILL, LabellerProfile, Lease
from labelapp.models.labels import Label, Skip
from labelapp.models.prompts import Prompt
from labelapp.models.reviews import Adjudication, ReviewItem
from labelapp.models.source_labels import SourceLabel

# Every kind of background job, by the name URLs and the CLI give it.
JOB_MODELS: dict[str, type[Job]] = {
    model.KIND: model for model in (GenerationJob, Export, JudgeJob, EmbeddingJob, Continuation)
}

__all__ = [
    "JOB_MODELS",
    "LABELLERS_GROUP",
    "REVIEWER_SKILL",
    "Adjudication",
    "AuditEntry",
    "Campaign",
    "CampaignKind",
    "CampaignSelection",
    "CampaignStatus",
    "Candidate",
    "CandidateEmbedding",
    "CandidateStep",
    "Continuation",
    "ContinuationStop",
    "EmbeddingJob",
    "Export",
    "ExportOutput",
    "GenerationJob",
    "GenerationStrategy",
    "Generator",
    "GeneratorBackend",
    "Item",
    "ItemCandidate",
    "Job",
    "JobStatus",
    "JudgeJob",
    "JudgeLabel",
    "Label",
    "LabellerProfile",
    "Lease",
    "MessageSource",
    "Prompt",
    "ReviewItem",
    "PromptFormat",
    "Skip",
    "SourceLabel",
]
