"""Migration 0013 (adaptive overlap) on a database holding items built before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("labelapp", "0012_continuations")
AFTER = ("labelapp", "0013_adaptive_overlap")


@pytest.fixture
def at_0012(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    yield executor.loader.project_state([BEFORE]).apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())  # back to the latest


def test_existing_items_ask_for_their_campaigns_labels_per_item(at_0012):
    old = at_0012
    Campaign, Prompt, Item = (old.get_model("labelapp", name) for name in ("Campaign", "Prompt", "Item"))
    items = {}
    for name, k in (("three", 3), ("one", 1)):
        campaign = Campaign.objects.create(name=name, labels_per_item=k)
        prompt = Prompt.objects.create(campaign=campaign, text="A question?")
        items[name] = Item.objects.create(campaign=campaign, kind="pairwise", prompt=prompt, label_count=1).pk

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    new = executor.loader.project_state([AFTER]).apps
    wanted = dict(new.get_model("labelapp", "Item").objects.values_list("pk", "labels_wanted"))
    assert wanted == {items["three"]: 3, items["one"]: 1}
    campaign = new.get_model("labelapp", "Campaign").objects.get(name="three")
    assert (campaign.min_labels, campaign.agreement_to_stop, campaign.judge_prelabel) == (None, 1.0, False)
