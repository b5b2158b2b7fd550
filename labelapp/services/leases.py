"""Hand out items: one short transaction, never more live leases + labels than the campaign wants."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from labelapp.models import Campaign, CampaignStatus, Item, Label, Lease


def _count_of(model: type, **filters: object) -> Coalesce:
    counted = model.objects.filter(item=OuterRef("pk"), **filters).order_by().values("item")
    return Coalesce(Subquery(counted.annotate(c=Count("pk")).values("c"), output_field=IntegerField()), 0)


def _open_items(campaign: Campaign, labeller: AbstractBaseUser):
    now = timezone.now()
    items = (
        Item.objects.filter(campaign=campaign)
        .exclude(Q(labels__labeller=labeller))
        .annotate(label_count=_count_of(Label), lease_count=_count_of(Lease, expires_at__gt=now))
        .alias(taken=F("label_count") + F("lease_count"))
        .filter(taken__lt=campaign.labels_per_item)
        # Finish what is started first, then by priority, then at random.
        .order_by("-label_count", "-priority", "?")
    )
    if connection.features.has_select_for_update_skip_locked:
        items = items.select_for_update(skip_locked=True, of=("self",))
    return items


@transaction.atomic
def lease_next(*, labeller: AbstractBaseUser, campaign: Campaign) -> Item | None:
    """Resume my live lease in this campaign, else lease a new item; None when nothing is left for me."""
    if campaign.status != CampaignStatus.ACTIVE:
        return None
    now = timezone.now()
    expires_at = now + timedelta(seconds=campaign.lease_seconds)
    own = (
        Lease.objects.select_for_update()
        .filter(labeller=labeller, item__campaign=campaign, expires_at__gt=now)
        .exclude(item__labels__labeller=labeller)
        .first()
    )
    if own is not None:
        own.expires_at = expires_at
        own.save(update_fields=["expires_at"])
        return own.item
    item = _open_items(campaign, labeller).first()
    if item is None:
        return None
    Lease.objects.update_or_create(
        item=item, labeller=labeller, defaults={"expires_at": expires_at, "created_at": now}
    )
    return item
