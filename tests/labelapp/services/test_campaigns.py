import pytest

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Label
from labelapp.selectors.campaigns import campaigns_for_user
from labelapp.services.campaigns import campaign_create, campaign_labellers_set, campaign_update


@pytest.fixture
def labelled(campaign, pairwise_items, labeller) -> Campaign:
    Label.objects.create(
        item=pairwise_items[0], labeller=labeller, value={"choice": "a"}, idempotency_key="k"
    )
    return campaign


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "correctness"),
        ("labels_per_item", 3),
        ("criteria", ["honesty"]),
        ("error_categories", ["math"]),
        ("show_reference_answer", True),
    ],
)
def test_what_labels_mean_cannot_change_once_there_are_labels(labelled, field, value):
    with pytest.raises(
        ApplicationError, match=f"has labels: changing {field} would make them mean"
    ) as refused:
        campaign_update(campaign=labelled, **{field: value})
    assert refused.value.extra["field"] == field
    labelled.refresh_from_db()
    assert getattr(labelled, field) != value


def test_the_rest_may_change_with_labels_and_only_what_differs_is_saved(labelled):
    changed = campaign_update(campaign=labelled, instructions="Be kind.", priority=5, labels_per_item=2)
    assert changed == ["instructions", "priority"]
    assert Campaign.objects.get(pk=labelled.pk).priority == 5


def test_a_campaign_with_items_keeps_its_kind_and_one_without_labels_may_change_k(campaign, pairwise_items):
    with pytest.raises(ApplicationError, match="has pairwise items: its kind cannot change"):
        campaign_update(campaign=campaign, kind="ranking")
    assert campaign_update(campaign=campaign, labels_per_item=3) == ["labels_per_item"]


def test_a_bad_value_is_refused_naming_its_field(db):
    with pytest.raises(ApplicationError, match="Field 'name'") as refused:
        campaign_create(name="Has Spaces")
    assert refused.value.extra["field"] == "name" and not Campaign.objects.exists()


def test_a_campaign_open_to_named_labellers_serves_only_them(db, labeller, other_labeller):
    campaign = campaign_create(name="closed", labellers=["labeller1"])
    assert list(campaigns_for_user(user=labeller)) == [campaign]
    assert list(campaigns_for_user(user=other_labeller)) == []
    assert campaign_labellers_set(campaign=campaign, usernames=["labeller1"]) is False  # nothing to change
    assert campaign_labellers_set(campaign=campaign, usernames=["labeller2"]) is True
    assert list(campaigns_for_user(user=labeller)) == []
    assert list(campaigns_for_user(user=other_labeller)) == [campaign]
    campaign_labellers_set(campaign=campaign, usernames=None)
    assert list(campaigns_for_user(user=labeller)) == [campaign]
