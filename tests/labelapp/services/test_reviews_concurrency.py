"""Several reviewers at once on PostgreSQL: no item is given to two reviewers, every item adjudicated once.

Real threads, each with its own database connection, race review_next -> item_adjudicate until the queue
is empty. SQLite serialises writers, so the race only exists on PostgreSQL.
"""

import threading
import traceback
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from labelapp.models import Adjudication, Campaign, Generator, LabellerProfile, Lease, Prompt, ReviewItem
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.reviews import item_adjudicate, review_next
from tests.factories import candidates_add, item_shown_indices

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="needs PostgreSQL (row locks, SKIP LOCKED, concurrent writers): set DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

ITEMS = 24
REVIEWERS = 6


def _campaign_with_disagreements() -> Campaign:
    campaign = Campaign.objects.create(name="race", labels_per_item=2, review_below=0.75)
    generator = Generator.objects.create(name="fake-model", model="embedded")
    for number in range(ITEMS):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    raters = [user_upsert(username=f"rater{n}", password="a rater's password") for n in range(2)]
    for item in campaign.items.all():
        for rater, canonical in zip(raters, (0, 1), strict=True):  # the two disagree
            Lease.objects.create(item=item, labeller=rater, expires_at=timezone.now() + timedelta(hours=1))
            label_submit(
                labeller=rater,
                campaign=None,
                item_id=item.pk,
                value={"choice": "ab"[item_shown_indices(item=item, labeller=rater).index(canonical)]},
                idempotency_key=f"{rater.pk}-{item.pk}",
                lease_next=False,
            )
    assert ReviewItem.objects.count() == ITEMS
    return campaign


def test_reviewers_racing_never_share_an_item_and_adjudicate_each_once():
    campaign = _campaign_with_disagreements()
    reviewers = []
    for n in range(REVIEWERS):
        user = user_upsert(username=f"reviewer{n}", password="a reviewer's password")
        LabellerProfile.objects.create(user=user, skills=["reviewer"])
        reviewers.append(user)
    start = threading.Barrier(REVIEWERS)
    taken: list[tuple[int, int]] = []  # (item id, reviewer id), each time an item is handed out
    errors: list[str] = []
    lock = threading.Lock()

    def review_loop(user) -> None:
        try:
            start.wait(timeout=30)
            while (review := review_next(reviewer=user, campaign=campaign)) is not None:
                with lock:
                    taken.append((review.item_id, user.pk))
                item_adjudicate(
                    reviewer=user,
                    campaign=campaign,
                    item_id=review.item_id,
                    value={"choice": "a"},
                    rationale="",
                )
        except Exception:  # noqa: BLE001 - any failure in a thread fails the test
            with lock:
                errors.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=review_loop, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, "\n".join(errors)
    handed_out = Counter(item_id for item_id, _ in taken)
    assert len(handed_out) == ITEMS and set(handed_out.values()) == {1}  # no item handed out twice
    assert Adjudication.objects.count() == ITEMS and not ReviewItem.objects.exists()
    assert len({reviewer for _, reviewer in taken}) > 1  # they really did work side by side
