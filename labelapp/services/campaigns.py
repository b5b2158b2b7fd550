from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from labelapp.errors import ApplicationError, model_validated
from labelapp.models import Campaign, CampaignStatus, Label, LabellerProfile
from labelapp.services.overlap import items_unlabelled_restart

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

# What a new item asks for depends on these (services/overlap.py).
OVERLAP_FIELDS = {"labels_per_item", "min_labels", "judge_prelabel"}


@transaction.atomic
def campaign_create(*, name: str, labellers: Sequence[str] | None = None, **fields: Any) -> Campaign:
    """A campaign open to every labeller, or only to the usernames in `labellers`."""
    campaign = Campaign(name=name, **fields)
    _min_labels_check(campaign)
    model_validated(campaign)
    campaign.save()
    if labellers is not None:
        campaign_labellers_set(campaign=campaign, usernames=labellers)
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
    _min_labels_check(campaign)
    model_validated(campaign)
    campaign.save(update_fields=changed)
    if set(changed) & OVERLAP_FIELDS:
        items_unlabelled_restart(campaign=campaign)
    return changed


def _min_labels_check(campaign: Campaign) -> None:
    """The database's check too (campaign_min_labels_within_k), told naming the field."""
    minimum, k = campaign.min_labels, campaign.labels_per_item
    if isinstance(minimum, int) and isinstance(k, int) and not 1 <= minimum <= k:  # other types: full_clean
        raise ApplicationError(
            f"Field 'min_labels' must be from 1 to labels_per_item ({k}), the most labels an item gets; "
            f"it is {minimum}.",
            {"field": "min_labels"},
        )


def campaign_access_skill(name: str) -> str:
    """The skill a campaign open only to named labellers requires, and only they hold."""
    return f"campaign:{name}"


@transaction.atomic
def campaign_labellers_set(*, campaign: Campaign, usernames: Sequence[str] | None) -> bool:
    """Open the campaign to the named labellers only, or to every labeller (None). Routing already knows
    required skills: the campaign requires its access skill, which the named labellers hold and nobody
    else does. Returns whether anything changed."""
    skill = campaign_access_skill(campaign.name)
    wanted = set(usernames or ())
    users = list(User.objects.filter(username__in=wanted))
    missing = wanted - {user.username for user in users}
    if missing:
        raise ApplicationError(f"No user named {', '.join(sorted(missing))}.", {"field": "labellers"})
    required = [s for s in campaign.required_skills if s != skill] + (
        [skill] if usernames is not None else []
    )
    changed = required != campaign.required_skills
    if changed:
        campaign.required_skills = required
        campaign.save(update_fields=["required_skills"])
    profiles = {user.pk: LabellerProfile.objects.get_or_create(user=user)[0] for user in users}
    for profile in LabellerProfile.objects.exclude(user__in=users).only("skills"):
        if skill in profile.skills:
            profile.skills = [s for s in profile.skills if s != skill]
            profile.save(update_fields=["skills"])
            changed = True
    for profile in profiles.values():
        if skill not in profile.skills:
            profile.skills = [*profile.skills, skill]
            profile.save(update_fields=["skills"])
            changed = True
    return changed


@transaction.atomic
def campaigns_set_status(*, campaigns: QuerySet[Campaign], status: CampaignStatus) -> int:
    """Pause, resume or close campaigns; a paused campaign hands out nothing, leases already held stay valid."""
    return campaigns.update(status=status)
