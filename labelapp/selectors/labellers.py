import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from rest_framework.authtoken.models import Token

from labelapp.models import LABELLERS_GROUP, Campaign, Label, LabellerProfile
from labelapp.selectors.sql_rows import ModelColumns

_STANDING = "_labeller_standing"  # where a request keeps the standing it read, on its own user object


@dataclass(frozen=True)
class LabellerStanding:
    """What routing needs to know about a user: in the labellers group, skills, suspension."""

    in_group: bool
    skills: frozenset[str]
    suspended: bool
    suspended_reason: str


NO_STANDING = LabellerStanding(in_group=False, skills=frozenset(), suspended=False, suspended_reason="")


def _standing_from_row(in_group: object, skills: Any, suspended: object, reason: object) -> LabellerStanding:
    if isinstance(skills, str):  # JSON columns come back as text from a raw query
        skills = json.loads(skills)
    return LabellerStanding(
        in_group=bool(in_group),
        skills=frozenset(skills or ()),
        suspended=bool(suspended),
        suspended_reason=str(reason or ""),
    )


def labeller_standing(*, user: User) -> LabellerStanding:
    """The user's standing: as this request already read it (`labeller_standing_remember`), else read now."""
    known = getattr(user, _STANDING, None)
    if known is not None:
        return known
    if not user.is_authenticated:
        return NO_STANDING
    in_group = Exists(
        Group.user_set.through.objects.filter(user_id=OuterRef("pk"), group__name=LABELLERS_GROUP)
    )
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values_list(
            in_group,
            "labeller_profile__skills",
            "labeller_profile__suspended",
            "labeller_profile__suspended_reason",
        )
        .first()
    )
    return _standing_from_row(*row) if row else NO_STANDING


def labeller_standing_remember(*, user: User) -> LabellerStanding:
    """Read the standing once per request and keep it on the request's own user object.

    Only for a user object that lives as long as one request (request.user): a longer-lived one would
    keep answering with what it read first, after an admin suspended the labeller.
    """
    standing = labeller_standing(user=user)
    setattr(user, _STANDING, standing)
    return standing


def user_for_api_token(*, key: str) -> User | None:
    """The user owning an API token, with their standing read in the same query and remembered on it."""
    users = _user_columns()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {users},
                EXISTS (
                    SELECT 1 FROM {Group.user_set.through._meta.db_table} ug
                    JOIN {Group._meta.db_table} g ON g.id = ug.group_id
                    WHERE ug.user_id = u.id AND g.name = %s
                ),
                p.skills, p.suspended, p.suspended_reason
            FROM {Token._meta.db_table} t
            JOIN {users.model._meta.db_table} u ON u.id = t.user_id
            LEFT JOIN {LabellerProfile._meta.db_table} p ON p.user_id = u.id
            WHERE t.key = %s
            """,
            [LABELLERS_GROUP, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user = users.instance(row)
    setattr(user, _STANDING, _standing_from_row(*row[users.width :]))
    return user


@functools.cache
def _user_columns() -> ModelColumns:
    return ModelColumns(get_user_model(), "u")


@dataclass(frozen=True)
class GoldAccuracy:
    correct: int
    scored: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None


def labeller_gold_accuracy(*, labeller: User, campaign: Campaign) -> GoldAccuracy:
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


def labeller_refusal(*, labeller: User, campaign: Campaign) -> str | None:
    """Why this labeller may not receive this campaign's items, shown to them; None if they may."""
    standing = labeller_standing(user=labeller)
    gold = (
        labeller_gold_accuracy(labeller=labeller, campaign=campaign)
        if campaign.min_gold_accuracy is not None
        else GoldAccuracy(correct=0, scored=0)
    )
    return labeller_blocked_reason(
        campaign=campaign,
        suspended=standing.suspended,
        suspended_reason=standing.suspended_reason,
        skills=standing.skills,
        gold_labels=gold.scored,
        gold_correct=gold.correct,
    )
