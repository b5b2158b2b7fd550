"""The admin dashboard of a campaign: progress, throughput, agreement, and how each labeller is doing.

Counts are aggregated in the database. Medians, majorities and Krippendorff's alpha need the labels
themselves, so one query reads every label of the campaign as a narrow row (ids, seconds, the gold
score, the stated confidence and the keys of the value the kind's agreement is computed on; never free
text). The whole dashboard takes four queries,
however many labels or labellers.

Disagreement (per labeller, per pair of labellers) is read on the first agreement field, against the
item's adjudicated value where a reviewer gave one (read in the same label query), else its majority.

Gold items are checks on labellers, not work: like `campaign_progress`, progress and agreement leave them
out, while throughput, time per label and per-labeller label counts include them.
"""

import statistics
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from labelapp.kinds import kind_get
from labelapp.kinds.base import AgreementField, majority
from labelapp.models import Campaign, Label, Lease, Skip
from labelapp.reports.agreement import AgreementResult, krippendorff_alpha
from labelapp.reports.calibration import LabellerCalibration, labeller_calibration
from labelapp.selectors.campaigns import campaign_item_counts
from labelapp.selectors.counts import related_count
from labelapp.selectors.labellers import labeller_blocked_reason

HOURS = 24
PAIR_MIN_SHARED_ITEMS = 5  # a pair's disagreement over fewer shared items is shown, marked as too few


@dataclass(frozen=True)
class HourBucket:
    start: datetime  # the start of a clock hour in the server's time zone
    labels: int


@dataclass(frozen=True)
class LabellerRow:
    labeller_id: int
    username: str
    labels: int  # all their labels in the campaign, gold included
    median_seconds: float | None
    gold_labels: int  # labels scored against a known answer
    gold_accuracy: float | None  # correct / gold_labels; None without gold labels
    majority_labels: int  # their labels on non-gold items with at least two labels
    majority_agreement: (
        float | None
    )  # share of those that agree with the item's majority (first agreement field)
    disagreement: float | None  # share of majority_labels differing from the adjudication, else the majority
    skips: int
    calibration_gold_labels: int  # gold labels with a stated confidence
    calibration_ece: float | None  # their stated confidence against gold (reports/calibration.py)
    suspended: bool
    blocked_reason: str | None  # why they receive no more items from this campaign; None if they do


@dataclass(frozen=True)
class PairRow:
    """Two labellers on the items both labelled (non-gold), on the kind's first agreement field."""

    first: str  # usernames, first < second
    second: str
    shared_items: int
    disagreement: float  # share of the shared items where their values differ
    too_few: bool  # fewer than PAIR_MIN_SHARED_ITEMS shared items: read with care


@dataclass(frozen=True)
class FieldAgreement:
    field: str
    level: str
    result: AgreementResult


@dataclass(frozen=True)
class CampaignDashboard:
    generated_at: datetime
    items_total: int  # non-gold items
    items_complete: int  # all the labels they ask for (labels_per_item, or fewer under adaptive overlap)
    items_in_progress: int  # a live lease, or some labels but fewer than they ask for
    items_untouched: int  # no label and no live lease
    gold_items: int
    labels_total: int  # labels on non-gold items
    labels_wanted: int  # the labels items ask for: items_total * labels_per_item under fixed overlap
    labels_saved: int  # adaptive overlap: labels a fixed labels_per_item would have asked for beyond those
    gold_labels: int  # labels on gold items
    labels_per_hour: tuple[HourBucket, ...]  # the last 24 clock hours, oldest first, the current one last
    median_seconds: float | None  # over every label of the campaign
    agreements: tuple["FieldAgreement", ...]  # alpha of each of the kind's agreement fields, non-gold items
    labellers: tuple[LabellerRow, ...]  # everyone with a label, a skip or a live lease here, by username
    adjudicated_items: int  # items a reviewer gave the final label
    pairs: tuple[PairRow, ...]  # every pair of labellers with an item in common, by usernames


def _hour_starts(now: datetime) -> list[datetime]:
    # Clock hours of the server's time zone, stepped in UTC so a DST change cannot skip or repeat one.
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


def _labels_per_hour(campaign: Campaign, now: datetime) -> tuple[HourBucket, ...]:
    starts = _hour_starts(now)
    ends = [*starts[1:], starts[-1] + timedelta(hours=1)]
    counts = Label.objects.filter(item__campaign=campaign, created_at__gte=starts[0]).aggregate(
        **{
            f"h{i}": Count("pk", filter=Q(created_at__gte=start, created_at__lt=end))
            for i, (start, end) in enumerate(zip(starts, ends, strict=True))
        }
    )
    return tuple(
        HourBucket(start=timezone.localtime(start), labels=counts[f"h{i}"]) for i, start in enumerate(starts)
    )


@dataclass(frozen=True)
class _LabelRow:
    item_id: int
    labeller_id: int
    seconds: float
    is_gold: bool
    gold_correct: bool | None
    confidence: str | None  # as stated (correctness, pairwise); None where not
    values: tuple[object, ...]  # the value's agreement fields, in order; None where not given
    adjudicated: object  # the item's adjudicated value of the first agreement field; None if none


def _label_rows(campaign: Campaign, fields: tuple[AgreementField, ...]) -> list[_LabelRow]:
    rows = (
        Label.objects.filter(item__campaign=campaign)
        .order_by()
        .values_list(
            "item_id",
            "labeller_id",
            "seconds_spent",
            "item__is_gold",
            "gold_correct",
            "value__confidence",
            # JSON key lookups: decoded values, None for JSON null on every backend
            *(f"item__adjudication__value__{field.key}" for field in fields[:1]),
            *(f"value__{field.key}" for field in fields),
        )
    )
    if not fields:
        return [
            _LabelRow(item_id, labeller_id, seconds, is_gold, gold_correct, confidence, (), None)
            for item_id, labeller_id, seconds, is_gold, gold_correct, confidence in rows
        ]
    return [
        _LabelRow(
            item_id, labeller_id, seconds, is_gold, gold_correct, confidence, tuple(values), adjudicated
        )
        for item_id, labeller_id, seconds, is_gold, gold_correct, confidence, adjudicated, *values in rows
    ]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def campaign_dashboard(*, campaign: Campaign, now: datetime | None = None) -> CampaignDashboard:
    """Everything the campaign's dashboard shows, as of `now` (default: the current time)."""
    now = now or timezone.now()
    counts = campaign_item_counts(campaign=campaign, now=now)
    fields = kind_get(campaign.kind).AGREEMENT_FIELDS
    rows = _label_rows(campaign, fields)

    units: list[dict[Hashable, list[Hashable]]] = [defaultdict(list) for _ in fields]
    seconds_by_labeller: dict[int, list[float]] = defaultdict(list)
    stated_by_labeller: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for row in rows:
        seconds_by_labeller[row.labeller_id].append(row.seconds)
        if row.gold_correct is not None and row.confidence is not None:
            stated_by_labeller[row.labeller_id].append((row.confidence, row.gold_correct))
        if row.is_gold:
            continue
        for field_units, value in zip(units, row.values, strict=True):
            if value not in (None, ""):
                field_units[row.item_id].append(value)

    majority_of = {
        item_id: majority(values)[0]
        for item_id, values in (units[0] if units else {}).items()
        if len(values) >= 2
    }
    compared: dict[int, int] = defaultdict(int)
    agreed: dict[int, int] = defaultdict(int)
    differed: dict[int, int] = defaultdict(int)
    adjudicated_items = set()
    for row in rows:
        if row.is_gold or row.item_id not in majority_of:
            continue
        compared[row.labeller_id] += 1
        agreed[row.labeller_id] += row.values[0] == majority_of[row.item_id]
        final = majority_of[row.item_id]
        if row.adjudicated is not None:
            final = row.adjudicated
            adjudicated_items.add(row.item_id)
        differed[row.labeller_id] += row.values[0] != final
    users = _labeller_rows(
        campaign,
        now,
        seconds_by_labeller,
        compared,
        agreed,
        differed,
        {who: labeller_calibration(str(who), stated) for who, stated in stated_by_labeller.items()},
    )

    return CampaignDashboard(
        generated_at=now,
        items_total=counts["total"],
        items_complete=counts["complete"],
        items_in_progress=counts["total"] - counts["complete"] - counts["untouched"],
        items_untouched=counts["untouched"],
        gold_items=counts["gold"],
        labels_total=sum(1 for row in rows if not row.is_gold),
        labels_wanted=counts["wanted"],
        labels_saved=counts["saved"],
        gold_labels=sum(1 for row in rows if row.is_gold),
        labels_per_hour=_labels_per_hour(campaign, now),
        median_seconds=_median([row.seconds for row in rows]),
        agreements=tuple(
            FieldAgreement(
                field.key,
                field.level,
                krippendorff_alpha(units=field_units, level=field.level, value_order=field.values),
            )
            for field, field_units in zip(fields, units, strict=True)
        ),
        labellers=users,
        adjudicated_items=len(adjudicated_items),
        pairs=_pair_rows(rows, {user.labeller_id: user.username for user in users}),
    )


def _pair_rows(rows: list[_LabelRow], usernames: dict[int, str]) -> tuple[PairRow, ...]:
    """Each pair of labellers' disagreement on the non-gold items both labelled."""
    by_item: dict[int, list[tuple[str, object]]] = defaultdict(list)
    for row in rows:
        if not row.is_gold and row.values and row.values[0] not in (None, ""):
            by_item[row.item_id].append((usernames[row.labeller_id], row.values[0]))
    shared: dict[tuple[str, str], int] = defaultdict(int)
    differ: dict[tuple[str, str], int] = defaultdict(int)
    for labels in by_item.values():
        for i, (first, first_value) in enumerate(labels):
            for second, second_value in labels[i + 1 :]:
                pair = (first, second) if first < second else (second, first)
                shared[pair] += 1
                differ[pair] += first_value != second_value
    return tuple(
        PairRow(first, second, count, differ[first, second] / count, count < PAIR_MIN_SHARED_ITEMS)
        for (first, second), count in sorted(shared.items())
    )


def _labeller_rows(
    campaign: Campaign,
    now: datetime,
    seconds_by_labeller: dict[int, list[float]],
    compared: dict[int, int],
    agreed: dict[int, int],
    differed: dict[int, int],
    calibrations: dict[int, LabellerCalibration],
) -> tuple[LabellerRow, ...]:
    here = {"item__campaign": campaign}
    involved = (
        Q(pk__in=Label.objects.filter(**here).values("labeller"))
        | Q(pk__in=Skip.objects.filter(**here).values("labeller"))
        | Q(pk__in=Lease.objects.filter(**here, expires_at__gt=now).values("labeller"))
    )
    users = (
        get_user_model()
        .objects.filter(involved)
        .select_related("labeller_profile")
        .annotate(
            label_count=related_count(Label, "labeller", **here),
            gold_scored=related_count(Label, "labeller", **here, gold_correct__isnull=False),
            gold_correct=related_count(Label, "labeller", **here, gold_correct=True),
            skip_count=related_count(Skip, "labeller", **here),
        )
        .order_by("username")
    )
    result = []
    for user in users:
        profile = getattr(user, "labeller_profile", None)
        suspended = bool(profile and profile.suspended)
        calibration = calibrations.get(user.pk)
        result.append(
            LabellerRow(
                labeller_id=user.pk,
                username=user.get_username(),
                labels=user.label_count,
                median_seconds=_median(seconds_by_labeller.get(user.pk, [])),
                gold_labels=user.gold_scored,
                gold_accuracy=user.gold_correct / user.gold_scored if user.gold_scored else None,
                majority_labels=compared.get(user.pk, 0),
                majority_agreement=agreed[user.pk] / compared[user.pk] if compared.get(user.pk) else None,
                disagreement=differed[user.pk] / compared[user.pk] if compared.get(user.pk) else None,
                skips=user.skip_count,
                calibration_gold_labels=calibration.gold_labels if calibration else 0,
                calibration_ece=calibration.reliability.ece if calibration else None,
                suspended=suspended,
                blocked_reason=labeller_blocked_reason(
                    campaign=campaign,
                    suspended=suspended,
                    suspended_reason=profile.suspended_reason if profile else "",
                    skills=profile.skills if profile else [],
                    gold_labels=user.gold_scored,
                    gold_correct=user.gold_correct,
                ),
            )
        )
    return tuple(result)
