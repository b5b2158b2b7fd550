from django.db import transaction
from django.db.models import QuerySet

from labelapp.models import Campaign, CampaignStatus


@transaction.atomic
def campaigns_set_status(*, campaigns: QuerySet[Campaign], status: CampaignStatus) -> int:
    """Pause, resume or close campaigns; a paused campaign hands out nothing, leases already held stay valid."""
    return campaigns.update(status=status)
