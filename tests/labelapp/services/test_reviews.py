from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import Adjudication, Item, LabellerProfile, Lease, ReviewItem
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.reviews import item_adjudicate, review_next
from tests.factories import item_shown_indices


@pytest.fixture
def adjudicated_campaign(campaign):
    campaign.review_below = 0.75
    campaign.save()
    return campaign


def reviewer(name: str):
    user = user_upsert(username=name, password="a reviewer's password")
    LabellerProfile.objects.create(user=user, skills=["reviewer"])
    return user


def label(user, item: Item, choice: str) -> None:
    """`user` labels the item, choosing canonical candidate `choice` ("a"/"b", wherever `user` is shown
    it) or tie/both_bad."""
    Lease.objects.create(item=item, labeller=user, expires_at=timezone.now() + timedelta(hours=1))
    if choice in ("a", "b"):
        choice = "ab"[item_shown_indices(item=item, labeller=user).index("ab".index(choice))]
    label_submit(
        labeller=user,
        campaign=None,
        item_id=item.pk,
        value={"choice": choice, "rationale": f"{user.username} thinks {choice}"},
        idempotency_key=f"{user.pk}-{item.pk}",
        lease_next=False,
    )


def disagree(item: Item, first, second) -> None:
    label(first, item, "a")
    label(second, item, "b")


def test_an_item_whose_labels_are_all_in_and_disagree_goes_to_review(
    adjudicated_campaign, pairwise_items, raters
):
    item = pairwise_items[0]
    label(raters[0], item, "a")
    assert not ReviewItem.objects.exists()  # one label of two: not settled yet
    label(raters[1], item, "b")
    review = ReviewItem.objects.get()
    assert (review.item, review.campaign, review.agreement, review.reviewer) == (
        item,
        adjudicated_campaign,
        0.5,
        None,
    )


def test_labels_that_agree_well_enough_send_nothing_to_review(adjudicated_campaign, pairwise_items, raters):
    label(raters[0], pairwise_items[0], "a")
    label(raters[1], pairwise_items[0], "a")
    adjudicated_campaign.review_below = 0.5  # "below": an even split (0.5) is not below 0.5
    adjudicated_campaign.save()
    disagree(pairwise_items[1], raters[0], raters[1])
    assert not ReviewItem.objects.exists()


def test_a_campaign_without_review_below_reviews_nothing(campaign, pairwise_items, raters):
    assert campaign.review_below is None
    disagree(pairwise_items[0], raters[0], raters[1])
    assert not ReviewItem.objects.exists()


def test_gold_items_are_never_reviewed(adjudicated_campaign, pairwise_items, raters):
    Item.objects.filter(pk=pairwise_items[0].pk).update(is_gold=True, gold_value={"choice": "a"})
    disagree(Item.objects.get(pk=pairwise_items[0].pk), raters[0], raters[1])
    assert not ReviewItem.objects.exists()


def test_a_reviewer_is_never_given_an_item_they_labelled(adjudicated_campaign, pairwise_items, raters):
    LabellerProfile.objects.create(user=raters[0], skills=["reviewer"])
    disagree(pairwise_items[0], raters[0], raters[1])
    assert review_next(reviewer=raters[0], campaign=adjudicated_campaign) is None
    assert review_next(reviewer=reviewer("rev"), campaign=adjudicated_campaign).item == pairwise_items[0]


def test_an_item_is_reserved_to_one_reviewer_until_their_reservation_runs_out(
    adjudicated_campaign, pairwise_items, raters
):
    disagree(pairwise_items[0], raters[0], raters[1])
    disagree(pairwise_items[1], raters[0], raters[1])
    first, second, third = reviewer("rev1"), reviewer("rev2"), reviewer("rev3")
    mine = review_next(reviewer=first, campaign=adjudicated_campaign)
    assert review_next(reviewer=first, campaign=adjudicated_campaign) == mine  # asked again: the same
    theirs = review_next(reviewer=second, campaign=adjudicated_campaign)
    assert theirs.item != mine.item
    assert review_next(reviewer=third, campaign=adjudicated_campaign) is None  # both taken
    ReviewItem.objects.filter(pk=mine.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))
    assert review_next(reviewer=third, campaign=adjudicated_campaign).item == mine.item


def test_the_final_label_is_stored_in_canonical_order_and_leaves_the_queue(
    adjudicated_campaign, pairwise_items, raters
):
    item = pairwise_items[0]
    disagree(item, raters[0], raters[1])
    rev = reviewer("rev")
    review_next(reviewer=rev, campaign=adjudicated_campaign)
    adjudication = item_adjudicate(
        reviewer=rev,
        campaign=adjudicated_campaign,
        item_id=item.pk,
        value={"choice": "a", "strength": "clear"},
        rationale="  A answers the question.  ",
    )
    canonical = "ab"[item_shown_indices(item=item, labeller=rev)[0]]  # the candidate shown to them as A
    assert Adjudication.objects.get() == adjudication
    assert adjudication.value == {"choice": canonical, "strength": "clear", "rationale": ""}
    assert (adjudication.reviewer, adjudication.rationale) == (rev, "A answers the question.")
    assert not ReviewItem.objects.exists()
    assert review_next(reviewer=rev, campaign=adjudicated_campaign) is None


def test_a_final_label_needs_the_items_reservation(adjudicated_campaign, pairwise_items, raters):
    disagree(pairwise_items[0], raters[0], raters[1])
    first, second = reviewer("rev1"), reviewer("rev2")
    review_next(reviewer=first, campaign=adjudicated_campaign)
    with pytest.raises(NotFoundError, match="not reserved to you"):
        item_adjudicate(
            reviewer=second,
            campaign=adjudicated_campaign,
            item_id=pairwise_items[0].pk,
            value={"choice": "a"},
            rationale="",
        )
    assert not Adjudication.objects.exists()


def test_a_final_label_the_kind_refuses_names_the_field_and_writes_nothing(
    adjudicated_campaign, pairwise_items, raters
):
    disagree(pairwise_items[0], raters[0], raters[1])
    rev = reviewer("rev")
    review_next(reviewer=rev, campaign=adjudicated_campaign)
    with pytest.raises(ApplicationError, match="Field 'choice'") as refused:
        item_adjudicate(
            reviewer=rev,
            campaign=adjudicated_campaign,
            item_id=pairwise_items[0].pk,
            value={"choice": "c"},
            rationale="",
        )
    assert refused.value.extra["field"] == "choice"
    assert not Adjudication.objects.exists() and ReviewItem.objects.filter(reviewer=rev).exists()
