"""Migration 0018 (per-labeller shown order) on a database holding labels given before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("labelapp", "0017_judge_both_orders")
AFTER = ("labelapp", "0018_label_shown_order")


@pytest.fixture
def at_0017(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    yield executor.loader.project_state([BEFORE]).apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())  # back to the latest


def test_labels_given_before_keep_the_order_their_item_showed(at_0017):
    old = at_0017
    campaign = old.get_model("labelapp", "Campaign").objects.create(name="old")
    generator = old.get_model("labelapp", "Generator").objects.create(name="g", model="embedded")
    prompt = old.get_model("labelapp", "Prompt").objects.create(campaign=campaign, text="Q?")
    Candidate = old.get_model("labelapp", "Candidate")
    candidates = [
        Candidate.objects.create(prompt=prompt, generator=generator, text=text, sample_index=n)
        for n, text in enumerate(["w", "x", "y"])
    ]
    Item = old.get_model("labelapp", "Item")
    ItemCandidate = old.get_model("labelapp", "ItemCandidate")
    users = [old.get_model("auth", "User").objects.create(username=f"u{n}") for n in range(2)]
    Label = old.get_model("labelapp", "Label")
    labels = {}
    for kind, positions in (("ranking", [2, 0, 1]), ("pairwise", [0, 1]), ("pairwise", [1, 0])):
        item = Item.objects.create(campaign=campaign, kind=kind, prompt=prompt)
        for index, position in enumerate(positions):
            ItemCandidate.objects.create(
                item=item, candidate=candidates[index], index=index, position=position
            )
        for user in users:
            label = Label.objects.create(item=item, labeller=user, value={}, idempotency_key=f"{item.pk}")
            labels[label.pk] = positions

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    new = executor.loader.project_state([AFTER]).apps
    stored = dict(new.get_model("labelapp", "Label").objects.values_list("pk", "shown_order"))
    # shown_order lists the canonical index at each position: the inverse of `positions`
    assert stored == {pk: sorted(range(len(p)), key=p.__getitem__) for pk, p in labels.items()}
    assert sorted(map(tuple, stored.values())) == [(0, 1), (0, 1), (1, 0), (1, 0), (1, 2, 0), (1, 2, 0)]
