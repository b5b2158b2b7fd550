"""Many labellers at once on PostgreSQL: never more than k labels per item, every acknowledged label kept.

Real threads, each with its own database connection, race lease_next -> label_submit on a small
campaign until it is done. SQLite serialises writers, so the race only exists on PostgreSQL.
"""

import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from labelapp.errors import ApplicationError, BusyError
from labelapp.kinds.base import BuildOptions
from labelapp.models import Campaign, CampaignSelection, Generator, Item, Label, Lease, Prompt
from labelapp.services import leases
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from labelapp.services.selection import selection_weights_refresh
from tests.factories import candidates_add

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="needs PostgreSQL (row locks, SKIP LOCKED, concurrent writers): set DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

K = 2
ITEMS = 60
LABELLERS = 16
SECONDS = 5.0
IDLE_POLLS = 10  # consecutive "no item" answers (20 ms apart) before a labeller gives up


@dataclass
class Outcome:
    acked: list[tuple[int, int, int]] = field(default_factory=list)  # (label id, item id, labeller id)
    refusals: list[str] = field(default_factory=list)  # ApplicationError from lease_next ("no item")
    errors: list[str] = field(default_factory=list)  # anything else: fails the test
    out_of_time: int = 0  # labellers stopped by the deadline, not by running out of items
    lock: threading.Lock = field(default_factory=threading.Lock)


def _campaign_with_items(items: int = ITEMS) -> Campaign:
    campaign = Campaign.objects.create(name="race", title="Race", labels_per_item=K)
    generator = Generator.objects.create(name="fake-model", model="embedded")
    for number in range(items):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    assert campaign.items.count() == items
    return campaign


def _active_campaign_with_items() -> Campaign:
    """ITEMS items pairing the answers of 4 generators (6 pairs), served by active selection, fitted."""
    campaign = Campaign.objects.create(
        name="race", title="Race", labels_per_item=K, selection=CampaignSelection.ACTIVE
    )
    generators = [Generator.objects.create(name=f"model-{n}", model="embedded") for n in range(4)]
    for number in range(ITEMS // 6):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        for generator in generators:
            candidates_add(prompt, generator, [f"{generator.name} answers {number}"])
    items_build(campaign=campaign, kind="pairwise", options=BuildOptions(pairing="cross-generator"), seed=1)
    assert campaign.items.count() == ITEMS
    return selection_weights_refresh(campaign_id=campaign.pk)


class Refresher:
    """The weights refresh, forced again and again in its own connection while the labellers race."""

    def __init__(self, campaign_id: int, out: "Outcome") -> None:
        self.stop = threading.Event()
        self.runs = 0
        self.thread = threading.Thread(target=self.run, args=(campaign_id, out), daemon=True)
        self.thread.start()

    def run(self, campaign_id: int, out: "Outcome") -> None:
        try:
            while not self.stop.wait(0.05):
                selection_weights_refresh(campaign_id=campaign_id, force=True)
                self.runs += 1
        except BaseException:
            with out.lock:
                out.errors.append(f"refresher:\n{traceback.format_exc()}")
        finally:
            connection.close()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _labeller_loop(labeller, campaign_id: int, start: threading.Barrier, out: Outcome) -> None:
    """Lease, label, repeat; every other label goes with the next lease in one transaction, as the API's
    label+next request does."""
    try:
        campaign = Campaign.objects.get(pk=campaign_id)
        start.wait(timeout=30)  # connections open, everyone starts at once
        deadline = time.monotonic() + SECONDS
        idle = 0
        turn = 0
        item = None
        while time.monotonic() < deadline and idle < IDLE_POLLS:
            if item is None:
                try:
                    item = lease_next(labeller=labeller, campaign=campaign)
                except ApplicationError as refused:  # a labeller may be refused: same as "no item for you"
                    with out.lock:
                        out.refusals.append(f"{labeller.username}: {refused.message}")
                if item is None:
                    idle += 1
                    time.sleep(0.02)
                    continue
            idle = 0
            turn += 1
            submitted = dict(
                item_id=item.pk,
                labeller=labeller,
                value={"choice": "a" if turn % 2 else "b"},
                idempotency_key=f"{labeller.pk}-{turn}-{item.pk}",
            )
            labelled = item
            if turn % 2:
                done = label_submit(**submitted, campaign=None, lease_next=False)
                label, created = done.label, done.created
                item = None
            else:
                done = label_submit(**submitted, campaign=campaign.name, lease_next=True)
                label, created, item = done.label, done.created, done.next_item
                if done.refusal is not None:
                    with out.lock:
                        out.refusals.append(f"{labeller.username}: {done.refusal.message}")
            if not created:
                raise AssertionError(f"a fresh idempotency key returned an old label {label.pk}")
            with out.lock:
                out.acked.append((label.pk, labelled.pk, labeller.pk))
        if idle < IDLE_POLLS:
            with out.lock:
                out.out_of_time += 1
    except BaseException:
        with out.lock:
            out.errors.append(f"{labeller.username}:\n{traceback.format_exc()}")
    finally:
        connection.close()


@pytest.mark.parametrize("selection", CampaignSelection.values)
def test_many_labellers_at_once_never_over_assign_and_keep_every_label(settings, selection):
    """Also with active selection, its pair weights refitted all the while."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # 16 users, quickly
    active = selection == CampaignSelection.ACTIVE
    campaign = _active_campaign_with_items() if active else _campaign_with_items()
    labellers = [user_upsert(username=f"racer{n:02d}", password="x" * 10) for n in range(LABELLERS)]
    out = Outcome()
    start = threading.Barrier(LABELLERS)
    threads = [
        threading.Thread(target=_labeller_loop, args=(person, campaign.pk, start, out), daemon=True)
        for person in labellers
    ]
    began = time.monotonic()
    refresher = Refresher(campaign.pk, out) if active else None
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    took = time.monotonic() - began
    if refresher is not None:
        refresher.end()
        assert refresher.runs > 0
    assert not any(thread.is_alive() for thread in threads), "a labeller thread hung (deadlock?)"
    assert not out.errors, f"{len(out.errors)} labeller thread(s) failed:\n" + "\n".join(out.errors)

    # The database after the race.
    labels = list(Label.objects.filter(item__campaign=campaign).values_list("pk", "item_id", "labeller_id"))
    per_item = Counter(item_id for _, item_id, _ in labels)
    over = {item_id: n for item_id, n in per_item.items() if n > K}
    assert not over, f"items with more than {K} labels (item id: labels): {over}"
    pairs = Counter((item_id, labeller_id) for _, item_id, labeller_id in labels)
    assert not [p for p, n in pairs.items() if n > 1], "a labeller labelled the same item twice"

    # What the labellers were told: each acknowledged label exists, as acknowledged, once.
    acked_pairs = Counter((item_id, labeller_id) for _, item_id, labeller_id in out.acked)
    assert not [p for p, n in acked_pairs.items() if n > 1], (
        "the same (item, labeller) was acknowledged twice"
    )
    stored = set(labels)
    lost = [ack for ack in out.acked if ack not in stored]
    assert not lost, f"acknowledged labels missing from the database: {lost[:10]}"

    now = timezone.now()
    live = Counter(
        Lease.objects.filter(item__campaign=campaign, expires_at__gt=now).values_list("item_id", flat=True)
    )
    crowded = {
        item_id: (per_item.get(item_id, 0), live[item_id])
        for item_id in set(per_item) | set(live)
        if per_item.get(item_id, 0) + live[item_id] > K
    }
    assert not crowded, f"items with labels + live leases over {K} (item id: (labels, leases)): {crowded}"

    # The work got done: a labeller stops only after being told "nothing left" again and again, which
    # must be true (never while items are merely locked by others), so every slot is filled; on a machine
    # too slow to finish in time, still far more than nothing (dead or refused threads label nothing).
    slots = ITEMS * K
    wanted = slots if out.out_of_time == 0 else 2 * LABELLERS
    assert len(out.acked) >= wanted, (
        f"only {len(out.acked)} of {slots} label slots filled in {took:.1f} s, {out.out_of_time} labellers "
        f"stopped by the deadline ({len(out.refusals)} refusals: {out.refusals[:3]})"
    )
    assert len(labels) == len(out.acked)


class RowLockHolder:
    """Another labeller's transaction, in its own thread and connection, holding an item's row lock."""

    def __init__(self, item_id: int) -> None:
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.hold, args=(item_id,), daemon=True)
        self.thread.start()
        assert self.locked.wait(timeout=30)

    def hold(self, item_id: int) -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                Item.objects.select_for_update().get(pk=item_id)
                self.locked.set()
                self.release.wait(timeout=30)
        finally:
            connection.close()

    def end(self) -> None:
        self.release.set()
        self.thread.join(timeout=30)


def test_items_locked_by_others_are_never_answered_as_nothing_left(settings):
    """Label Studio says "no more tasks" while tasks are only locked by others; here it is "busy, retry"
    while the lock lasts longer than lease_next waits, and the item once it is released."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    campaign = _campaign_with_items(items=1)
    only = campaign.items.get()
    labeller = user_upsert(username="waiting", password="x" * 10)
    holder = RowLockHolder(only.pk)
    try:
        with pytest.raises(BusyError) as busy:
            lease_next(labeller=labeller, campaign=campaign)
        assert busy.value.extra == {"retry_after": 1} and "busy" in busy.value.message
    finally:
        holder.end()
    assert lease_next(labeller=labeller, campaign=campaign) == only


def test_lease_next_waits_for_a_lock_that_ends_soon(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(leases, "LOOKS", 4000)  # up to 20 s: far longer than the lock is held
    campaign = _campaign_with_items(items=1)
    only = campaign.items.get()
    labeller = user_upsert(username="waiting", password="x" * 10)
    holder = RowLockHolder(only.pk)
    threading.Timer(0.2, holder.release.set).start()
    try:
        assert lease_next(labeller=labeller, campaign=campaign) == only
    finally:
        holder.end()
