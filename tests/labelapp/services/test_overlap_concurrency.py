"""Adaptive overlap with many labellers at once on PostgreSQL: each item's decision is taken once per
label, under its row lock, so no item ends with more labels than it asks for, nor asks for a number its
labels do not justify."""

import threading
from collections import defaultdict

import pytest
from django.conf import settings

from labelapp.models import Campaign, Generator, Item, Label, Prompt
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.overlap import labels_wanted_after
from tests.factories import candidates_add
from tests.labelapp.services.test_leases_concurrency import SECONDS, Outcome, _labeller_loop

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRESQL, reason="needs PostgreSQL: set DATABASE_URL=postgres://..."),
    pytest.mark.django_db(transaction=True),
]

K, MIN_LABELS, ITEMS, LABELLERS = 3, 2, 40, 12


def test_racing_labellers_leave_every_item_with_the_labels_its_rule_asks_for(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    campaign = Campaign.objects.create(name="race", labels_per_item=K, min_labels=MIN_LABELS)
    generator = Generator.objects.create(name="fake-model", model="embedded")
    for number in range(ITEMS):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    labellers = [user_upsert(username=f"racer{n:02d}", password="x" * 10) for n in range(LABELLERS)]
    out = Outcome()
    start = threading.Barrier(LABELLERS)
    threads = [
        threading.Thread(target=_labeller_loop, args=(person, campaign.pk, start, out), daemon=True)
        for person in labellers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads), "a labeller thread hung (deadlock?)"
    assert not out.errors, "\n".join(out.errors)

    values = defaultdict(list)
    for item_id, value in (
        Label.objects.filter(item__campaign=campaign).order_by("pk").values_list("item_id", "value")
    ):
        values[item_id].append(value)
    asks = {}
    for item in Item.objects.filter(campaign=campaign):
        assert item.label_count == len(values[item.pk]) <= item.labels_wanted <= K, item.pk
        asks[item.pk] = labels_wanted_after(
            campaign=campaign, kind="pairwise", values=values[item.pk], judge_value=None
        )
        assert item.labels_wanted == asks[item.pk], f"item {item.pk}: {values[item.pk]}"
    if out.out_of_time == 0:  # every labeller ran out of items: every item got what it asks for
        assert all(len(values[item_id]) == wanted for item_id, wanted in asks.items())
    # The labellers alternate "a" and "b": some items stopped at two, some went on to three.
    assert {len(v) for v in values.values()} >= {2, 3} or out.out_of_time
