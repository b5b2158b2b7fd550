"""Labellers racing on PostgreSQL in a campaign that continues conversations: each item that gets its k-th
label records exactly one continuation, however the labels race, and each conversation goes on once.

Real threads, each with its own database connection; tasks run eagerly in the thread that queued them, after
its commit. SQLite serialises writers, so the race only exists on PostgreSQL.
"""

import threading
import traceback

import pytest
from django.conf import settings
from django.db import connection

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Continuation, Generator, Item, Prompt
from labelapp.services.labellers import user_upsert
from labelapp.services.leases import lease_next
from tests.labelapp.services.test_continuations import conversation_start, label

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="needs PostgreSQL (row locks, concurrent writers): set DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

CONVERSATIONS = 12
LABELLERS = 6


def _labeller_loop(labeller, campaign: Campaign, start: threading.Barrier, errors: list[str]) -> None:
    """Lease and label until nothing is left: "a" with a next message, sending each label twice with one
    idempotency key, as a retried request would."""
    try:
        start.wait(timeout=30)
        while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
            for _ in range(2):
                label(labeller, item, "a", message=f"Then what, {labeller.username}?", key=f"k{item.pk}")
    except ApplicationError as refused:
        errors.append(f"{labeller.username}: {refused.message}")
    except Exception:
        errors.append(traceback.format_exc())
    finally:
        connection.close()


def test_racing_labels_continue_each_completed_conversation_exactly_once(fake_generate, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    campaign = Campaign.objects.create(name="race", labels_per_item=2, continue_turns=1)
    generators = (
        Generator.objects.create(name="model-a", model="embedded"),
        Generator.objects.create(name="model-b", model="embedded", prompt_format="raw"),
    )
    firsts = [conversation_start(campaign, generators, question=f"Q{n}?") for n in range(CONVERSATIONS)]
    labellers = [
        user_upsert(username=f"racer{n}", password="correct horse battery") for n in range(LABELLERS)
    ]
    start, errors = threading.Barrier(LABELLERS), []
    threads = [
        threading.Thread(target=_labeller_loop, args=(labeller, campaign, start, errors))
        for labeller in labellers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors[:3]
    # Every first turn got its two labels (each sent twice), and recorded one continuation.
    assert (
        sorted(Item.objects.filter(prompt__turn=1).values_list("label_count", flat=True))
        == [2] * CONVERSATIONS
    )
    assert sorted(Continuation.objects.values_list("item_id", flat=True)) == sorted(i.pk for i in firsts)
    # Each conversation went on once: one next prompt and one item of it. (Labellers who found nothing
    # left while a next turn was being answered stopped, so the next turns need not all be labelled.)
    assert Prompt.objects.filter(turn=2).count() == CONVERSATIONS
    assert Item.objects.filter(prompt__turn=2).count() == CONVERSATIONS
    assert not Continuation.objects.filter(item__prompt__turn=2).exists()
