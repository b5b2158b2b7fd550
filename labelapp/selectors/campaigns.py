from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from labelapp.errors import NotFoundError
from labelapp.models import LABELLERS_GROUP, Campaign, GenerationJob, Item, Label, LabellerProfile, Lease
from labelapp.selectors.counts import related_count


def user_is_labeller(user: AbstractBaseUser) -> bool:
    return user.is_authenticated and user.groups.filter(name=LABELLERS_GROUP).exists()


def campaigns_for_user(*, user: AbstractBaseUser) -> QuerySet[Campaign]:
    if user.is_staff:
        return Campaign.objects.all()
    if user_is_labeller(user):
        profile = LabellerProfile.objects.filter(user=user).first()
        skills = set(profile.skills) if profile else set()
        active = Campaign.objects.filter(status="active").order_by("-priority", "name")
        # Routing: only campaigns whose required skills the labeller has (JSON lists are filtered here).
        return active.filter(pk__in=[c.pk for c in active if set(c.required_skills) <= skills])
    return Campaign.objects.none()


def campaign_get_for_user(*, user: AbstractBaseUser, name: str) -> Campaign:
    campaign = campaigns_for_user(user=user).filter(name=name).first()
    if campaign is None:
        raise NotFoundError(f"Campaign '{name}' does not exist or is not open to you.", {"field": "campaign"})
    return campaign


def campaign_get(*, name: str) -> Campaign:
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        known = ", ".join(Campaign.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise NotFoundError(f"Campaign '{name}' does not exist (known: {known}).", {"field": "campaign"})
    return campaign


@dataclass(frozen=True)
class CampaignProgress:
    items_total: int
    items_complete: int
    items_in_progress: int
    items_untouched: int
    labels_total: int
    labels_wanted: int
    my_labels: int


def campaign_item_counts(*, campaign: Campaign, now: datetime) -> dict[str, int]:
    """Work items (gold left out) by state: total, complete (k labels), untouched; and gold items."""
    items = Item.objects.filter(campaign=campaign).annotate(
        labels_counted=related_count(Label, "item"),
        lease_count=related_count(Lease, "item", expires_at__gt=now),
    )
    work = Q(is_gold=False)
    return items.aggregate(
        total=Count("pk", filter=work),
        complete=Count("pk", filter=work & Q(labels_counted__gte=campaign.labels_per_item)),
        untouched=Count("pk", filter=work & Q(labels_counted=0, lease_count=0)),
        gold=Count("pk", filter=Q(is_gold=True)),
    )


def campaign_progress(*, campaign: Campaign, user: AbstractBaseUser) -> CampaignProgress:
    totals = campaign_item_counts(campaign=campaign, now=timezone.now())
    labels_total = Label.objects.filter(item__campaign=campaign, item__is_gold=False).count()
    return CampaignProgress(
        items_total=totals["total"],
        items_complete=totals["complete"],
        items_in_progress=totals["total"] - totals["complete"] - totals["untouched"],
        items_untouched=totals["untouched"],
        labels_total=labels_total,
        labels_wanted=totals["total"] * campaign.labels_per_item,
        my_labels=Label.objects.filter(item__campaign=campaign, labeller=user).count(),
    )


def generation_jobs_for_campaign(*, campaign: Campaign) -> QuerySet[GenerationJob]:
    return campaign.generation_jobs.select_related("generator").order_by("-created_at")[:20]
