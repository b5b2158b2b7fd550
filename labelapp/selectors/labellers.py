from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q

from labelapp.models import Campaign, Label, LabellerProfile


@dataclass(frozen=True)
class GoldAccuracy:
    correct: int
    scored: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None


def labeller_gold_accuracy(*, labeller: AbstractBaseUser, campaign: Campaign) -> GoldAccuracy:
    counts = Label.objects.filter(
        item__campaign=campaign, labeller=labeller, gold_correct__isnull=False
    ).aggregate(scored=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True)))
    return GoldAccuracy(correct=counts["correct"], scored=counts["scored"])


def labeller_blocked_reason(
    *,
    campaign: Campaign,
    suspended: bool,
    suspended_reason: str,
    skills: Iterable[str],
    gold_labels: int,
    gold_correct: int,
) -> str | None:
    """Why a labeller stops receiving this campaign's items, for an admin to read; None if they do not.

    The one rule for routing (`labeller_refusal`) and the dashboard: suspension, a missing required skill,
    and gold accuracy below `min_gold_accuracy` once at least `min_gold_labels` gold labels are scored.
    """
    if suspended:
        return f"Suspended: {suspended_reason}" if suspended_reason else "Suspended (no reason given)"
    missing = sorted(set(campaign.required_skills) - set(skills))
    if missing:
        return f"Lacks the campaign's required skill(s): {', '.join(missing)}"
    threshold = campaign.min_gold_accuracy
    if threshold is not None and gold_labels and gold_labels >= campaign.min_gold_labels:
        accuracy = gold_correct / gold_labels
        if accuracy < threshold:
            shown, wanted = f"{accuracy:.0%}", f"{threshold:.0%}"
            if shown == wanted:  # 69.6% is below 70%, and should not read "70% is below 70%"
                shown, wanted = f"{accuracy:.1%}", f"{threshold:.1%}"
            return f"Gold accuracy {shown} is below the campaign's {wanted}"
    return None


def labeller_refusal(*, labeller: AbstractBaseUser, campaign: Campaign) -> str | None:
    """Why this labeller may not receive this campaign's items, shown to them; None if they may."""
    profile = LabellerProfile.objects.filter(user=labeller).first()
    gold = (
        labeller_gold_accuracy(labeller=labeller, campaign=campaign)
        if campaign.min_gold_accuracy is not None
        else GoldAccuracy(correct=0, scored=0)
    )
    return labeller_blocked_reason(
        campaign=campaign,
        suspended=bool(profile and profile.suspended),
        suspended_reason=profile.suspended_reason if profile else "",
        skills=profile.skills if profile else [],
        gold_labels=gold.scored,
        gold_correct=gold.correct,
    )
