"""Active selection on a real database: pair keys, the weights refresh, and the queue serving the sampled pair."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import ApplicationError
from labelapp.kinds.base import BuildOptions
from labelapp.models import Campaign, CampaignSelection, Generator, Item, Label, Prompt
from labelapp.services import selection
from labelapp.services.campaigns import campaign_create
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from labelapp.services.selection import selection_pair_sample, selection_weights_refresh
from labelapp.tasks import selection_weights_refresh_task
from tests.factories import candidates_add, item_shown_indices

GENERATORS = ("g0", "g1", "g2")


@pytest.fixture
def active(db) -> Campaign:
    """Three generators answer each of 4 prompts; items pair answers of different generators (12 items)."""
    campaign = Campaign.objects.create(name="arena", labels_per_item=1, selection=CampaignSelection.ACTIVE)
    generators = [Generator.objects.create(name=name, model="embedded") for name in GENERATORS]
    for number in range(4):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        for generator in generators:
            candidates_add(prompt, generator, [f"{generator.name} answers {number}"])
    items_build(campaign=campaign, kind="pairwise", options=BuildOptions(pairing="cross-generator"), seed=3)
    return campaign


def key(campaign: Campaign, first: str, second: str) -> str:
    ids = sorted(Generator.objects.get(name=name).pk for name in (first, second))
    return f"{ids[0]}-{ids[1]}"


def vote(item: Item, labeller, winner: str) -> None:
    """The labeller prefers the answer of generator `winner` (leasing the item first)."""
    from labelapp.models import Lease

    Lease.objects.create(item=item, labeller=labeller, expires_at=timezone.now() + timedelta(minutes=5))
    shown_first = item.slots.get(index=item_shown_indices(item=item, labeller=labeller)[0])
    label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "a" if shown_first.candidate.generator.name == winner else "b"},
        idempotency_key=f"{item.pk}-{labeller.pk}",
        campaign=None,
        lease_next=False,
    )


def test_the_refresh_gives_every_item_its_pair_and_every_open_pair_a_weight(active):
    assert set(active.items.values_list("pair_key", flat=True)) == {""}
    refreshed = selection_weights_refresh(campaign_id=active.pk)
    pairs = {key(active, "g0", "g1"), key(active, "g0", "g2"), key(active, "g1", "g2")}
    assert set(active.items.values_list("pair_key", flat=True)) == pairs
    assert set(refreshed.pair_weights) == pairs
    assert sum(refreshed.pair_weights.values()) == pytest.approx(1, abs=1e-4)
    assert refreshed.pair_weights_at is not None


def test_pairs_with_no_item_left_wanting_a_label_get_no_weight(active, raters):
    selection_weights_refresh(campaign_id=active.pk)
    left_open = active.items.filter(pair_key=key(active, "g0", "g1")).first()
    for item in active.items.exclude(pk=left_open.pk):
        vote(item, raters[0], sorted(slot.candidate.generator.name for slot in item.slots.all())[0])
    weights = selection_weights_refresh(campaign_id=active.pk, force=True).pair_weights
    assert set(weights) == {key(active, "g0", "g1")}


def test_a_close_pair_outweighs_a_settled_one(active, raters):
    """g0 and g1 split their votes; each beat g2 every time: the next votes should compare g0 with g1."""
    active.labels_per_item = 4
    active.save()
    active.items.update(labels_wanted=4)
    selection_weights_refresh(campaign_id=active.pk)
    for item in active.items.all():
        generators = sorted(slot.candidate.generator.name for slot in item.slots.all())
        for number, rater in enumerate(raters[:3]):
            winner = generators[number % 2] if generators == ["g0", "g1"] else generators[0]
            vote(item, rater, winner)
    weights = selection_weights_refresh(campaign_id=active.pk, force=True).pair_weights
    close = weights[key(active, "g0", "g1")]
    assert close > weights[key(active, "g0", "g2")] and close > weights[key(active, "g1", "g2")]


def test_a_fresh_refresh_is_not_run_again_unless_forced(active):
    first = selection_weights_refresh(campaign_id=active.pk).pair_weights_at
    again = selection_weights_refresh(campaign_id=active.pk).pair_weights_at
    assert again == first
    assert selection_weights_refresh(campaign_id=active.pk, force=True).pair_weights_at > first


def test_the_queue_serves_the_sampled_pair(active, labeller, monkeypatch):
    selection_weights_refresh(campaign_id=active.pk)
    wanted = key(active, "g1", "g2")
    Campaign.objects.filter(pk=active.pk).update(pair_weights={wanted: 1.0})
    active.refresh_from_db()
    served = []
    for _ in range(4):
        item = lease_next(labeller=labeller, campaign=active)
        served.append(item.pair_key)
        vote_without_lease(item, labeller)
    assert served == [wanted] * 4


def vote_without_lease(item: Item, labeller) -> None:
    label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "a"},
        idempotency_key=f"{item.pk}-{labeller.pk}",
        campaign=None,
        lease_next=False,
    )


def test_when_the_sampled_pair_has_nothing_left_for_me_the_queue_serves_another(active, labeller):
    selection_weights_refresh(campaign_id=active.pk)
    wanted = key(active, "g1", "g2")
    Campaign.objects.filter(pk=active.pk).update(pair_weights={wanted: 1.0})
    active.refresh_from_db()
    served = []
    while (item := lease_next(labeller=labeller, campaign=active)) is not None:
        served.append(item.pair_key)
        vote_without_lease(item, labeller)
    assert served[:4] == [wanted] * 4
    assert len(served) == 12 and wanted not in served[4:]  # then every other item, each once


def test_uniform_selection_samples_no_pair(campaign, active):
    assert selection_pair_sample(campaign=active) is None  # not fitted yet: the queue is uniform
    active = selection_weights_refresh(campaign_id=active.pk)
    assert selection_pair_sample(campaign=campaign) is None
    assert selection_pair_sample(campaign=active) in active.pair_weights
    Campaign.objects.filter(pk=active.pk).update(selection=CampaignSelection.UNIFORM)
    active.refresh_from_db()
    assert selection_pair_sample(campaign=active) is None


def test_a_label_queues_a_refresh_when_the_weights_are_stale(
    active, labeller, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    item = lease_next(labeller=labeller, campaign=active)
    with django_capture_on_commit_callbacks(execute=True):
        vote_without_lease(item, labeller)  # never fitted: queued on the first label
    active.refresh_from_db()
    fitted = active.pair_weights_at
    assert fitted is not None and active.pair_weights

    monkeypatch.setattr(selection, "REFRESH_LABELS", 1)
    item = lease_next(labeller=labeller, campaign=active)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        vote_without_lease(item, labeller)  # fitted just now: not queued
    assert queued == []
    Campaign.objects.filter(pk=active.pk).update(pair_weights_at=fitted - timedelta(minutes=5))
    item = lease_next(labeller=labeller, campaign=active)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        vote_without_lease(item, labeller)
    assert len(queued) == 1
    active.refresh_from_db()
    assert active.pair_weights_at > fitted


def test_the_refresh_task_refits_the_campaign(active):
    selection_weights_refresh_task.apply(args=(active.pk,))
    active.refresh_from_db()
    assert active.pair_weights and active.items.filter(pair_key="").count() == 0
    assert Label.objects.count() == 0


def test_only_a_pairwise_campaign_can_use_active_selection(db):
    with pytest.raises(ApplicationError, match="Only a pairwise campaign can use active selection"):
        campaign_create(name="verdicts", kind="correctness", selection="active")
    with pytest.raises(ApplicationError, match="selection"):
        campaign_create(name="typo", selection="clever")


def test_a_campaign_selects_uniformly_unless_told(db):
    assert campaign_create(name="plain").selection == CampaignSelection.UNIFORM
