from labelapp.models.audit import AuditEntry
from labelapp.models.campaigns import Campaign, CampaignKind, CampaignStatus
from labelapp.models.candidates import (
    Candidate,
    CandidateStep,
    GenerationJob,
    GenerationJobStatus,
    GenerationStrategy,
    Generator,
    GeneratorBackend,
    PromptFormat,
)
from labelapp.models.embeddings import CandidateEmbedding
from labelapp.models.exports import Export, ExportOutput, ExportStatus
from labelapp.models.items import Item, ItemCandidate
from labelapp.models.judge import JudgeLabel
from labelapp.models.labellers import LABELLERS_GROUP, LabellerProfile, Lease
from labelapp.models.labels import Label, Skip
from labelapp.models.prompts import Prompt
from labelapp.models.source_labels import SourceLabel

__all__ = [
    "LABELLERS_GROUP",
    "AuditEntry",
    "Campaign",
    "CampaignKind",
    "CampaignStatus",
    "Candidate",
    "CandidateEmbedding",
    "CandidateStep",
    "Export",
    "ExportOutput",
    "ExportStatus",
    "GenerationJob",
    "GenerationJobStatus",
    "GenerationStrategy",
    "Generator",
    "GeneratorBackend",
    "Item",
    "ItemCandidate",
    "JudgeLabel",
    "Label",
    "LabellerProfile",
    "Lease",
    "Prompt",
    "PromptFormat",
    "Skip",
    "SourceLabel",
]
