from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from labelapp.errors import ApplicationError, model_validated
from labelapp.models import Campaign, CampaignStatus, Label

# Changing one of these once a campaign has labels would make the labels collected mean something else: a
# pairwise choice read as a correctness verdict, k labels an item counted complete at another k, criteria or
# error categories the labellers never saw, a verdict judged with a reference answer read as one without.
CAMPAIGN_FIELDS_FIXED_BY_LABELS = (
    "kind",
    "labels_per_item",
    "criteria",
    "error_categories",
    "show_reference_answer",
)


@transaction.atomic
def campaign_create(*, name: str, **fields: Any) -> Campaign:
    campaign = Campaign(name=name, **fields)
    model_validated(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields: Any) -> list[str]:
    """Set the fields that differ and return their names. Refuses, naming the fields, a change of
    CAMPAIGN_FIELDS_FIXED_BY_LABELS once the campaign has labels, and of its kind once it has items."""
    changed = [name for name, value in fields.items() if getattr(campaign, name) != value]
    fixed = [name for name in changed if name in CAMPAIGN_FIELDS_FIXED_BY_LABELS]
    if fixed and Label.objects.filter(item__campaign=campaign).exists():
        raise ApplicationError(
            f"Campaign '{campaign.name}' has labels: changing {', '.join(fixed)} would make them mean "
            "something else. Declare a new campaign instead.",
            {"field": fixed[0]},
        )
    if "kind" in changed and campaign.items.exists():
        raise ApplicationError(
            f"Campaign '{campaign.name}' has {campaign.kind} items: its kind cannot change. Declare a new "
            "campaign instead.",
            {"field": "kind"},
        )
    if not changed:
        return []
    for name in changed:
        setattr(campaign, name, fields[name])
    model_validated(campaign)
    campaign.save(update_fields=changed)
    return changed


@transaction.atomic
def campaigns_set_status(*, campaigns: QuerySet[Campaign], status: CampaignStatus) -> int:
    """Pause, resume or close campaigns; a paused campaign hands out nothing, leases already held stay valid."""
    return campaigns.update(status=status)
