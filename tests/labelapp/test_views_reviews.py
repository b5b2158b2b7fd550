"""The review page: reviewers only, every label under a pseudonym, the final label given with the kind's form."""

import pytest
from django.contrib.auth.models import Group

from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.models import Adjudication, LabellerProfile, ReviewItem
from labelapp.models.labellers import LABELLERS_GROUP
from tests.factories import item_shown_indices
from tests.labelapp.services.test_reviews import disagree, label, reviewer

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def disputed(campaign, pairwise_items, raters):
    """A campaign that adjudicates, with its first item's two labels disagreeing."""
    campaign.review_below = 0.75
    campaign.save()
    disagree(pairwise_items[0], raters[0], raters[1])
    return pairwise_items[0]


def test_a_reviewer_sees_the_item_and_every_label_under_pseudonyms(disputed, raters, client_for):
    page = client_for(reviewer("rev")).get("/label/prefs/review/")
    body = page.content.decode()
    assert page.status_code == 200
    assert disputed.prompt.text in body and "first answer 0" in body and "second answer 0" in body
    for rater in raters[:2]:
        assert labeller_pseudonym(rater.pk) in body and f"{rater.username} thinks" in body  # the rationale
        assert f">{rater.username}<" not in body  # never the username itself
    assert 'data-key="n"' in body and 'name="choice"' in body  # the kind's own controls, and a rationale


def test_the_labels_are_shown_in_the_positions_the_reviewer_sees(
    campaign, pairwise_items, raters, client_for
):
    campaign.review_below = 0.75
    campaign.save()
    rev, swapped = next(  # an item shown to the rater and to the reviewer in opposite orders
        (rev, item)
        for rev in (reviewer(f"rev{number}") for number in range(10))
        for item in pairwise_items
        if item_shown_indices(item=item, labeller=raters[0]) != item_shown_indices(item=item, labeller=rev)
    )
    label(raters[0], swapped, "a")
    label(raters[1], swapped, "tie")
    shown, other = "AB" if item_shown_indices(item=swapped, labeller=rev)[0] == 0 else "BA"
    body = client_for(rev).get("/label/prefs/review/").content.decode()
    first_row = body[body.index(labeller_pseudonym(raters[0].pk)) :].split("</tr>")[0]
    assert f"<strong>choice</strong>: {shown}" in first_row
    assert f"<strong>choice</strong>: {other}" not in first_row


def test_the_final_label_is_stored_and_the_next_item_follows(disputed, pairwise_items, raters, client_for):
    disagree(pairwise_items[1], raters[0], raters[1])
    rev = reviewer("rev")
    client = client_for(rev)
    client.get("/label/prefs/review/")
    reserved = ReviewItem.objects.get(reviewer=rev).item
    response = client.post(
        f"/label/prefs/review/items/{reserved.pk}/",
        {"choice": "b", "review_rationale": "B is right."},
        **HTMX,
    )
    assert response.status_code == 200
    adjudication = Adjudication.objects.get()
    assert adjudication.item == reserved and adjudication.rationale == "B is right."
    assert adjudication.value["choice"] == "ab"[item_shown_indices(item=reserved, labeller=rev)[1]]
    other = pairwise_items[1] if reserved == pairwise_items[0] else pairwise_items[0]
    assert f'data-item-id="{other.pk}"' in response.content.decode()


def test_a_refused_final_label_is_told_above_the_same_item(disputed, client_for):
    client = client_for(reviewer("rev"))
    client.get("/label/prefs/review/")
    response = client.post(f"/label/prefs/review/items/{disputed.pk}/", {"choice": ""}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 400 and "Field &#x27;choice&#x27;" in body
    assert f'data-item-id="{disputed.pk}"' in body and not Adjudication.objects.exists()


def test_labellers_without_the_reviewer_skill_are_refused(disputed, raters, client_for):
    assert client_for(raters[2]).get("/label/prefs/review/").status_code == 403
    response = client_for(raters[2]).post(f"/label/prefs/review/items/{disputed.pk}/", {"choice": "a"})
    assert response.status_code == 403 and not Adjudication.objects.exists()


def test_a_suspended_reviewer_is_refused(disputed, client_for):
    rev = reviewer("rev")
    LabellerProfile.objects.filter(user=rev).update(suspended=True)
    assert client_for(rev).get("/label/prefs/review/").status_code == 403


def test_a_reviewer_who_labelled_the_item_is_not_shown_it(disputed, raters, client_for):
    LabellerProfile.objects.create(user=raters[0], skills=["reviewer"])
    body = client_for(raters[0]).get("/label/prefs/review/").content.decode()
    assert 'id="no-items"' in body and labeller_pseudonym(raters[1].pk) not in body


def test_the_label_page_still_never_shows_other_labels(campaign, pairwise_items, raters, client_for):
    """Labellers never see each other's labels: only the review page shows them, and only to reviewers."""
    campaign.review_below = 0.75
    campaign.save()
    label(raters[0], pairwise_items[0], "a")
    body = client_for(raters[1]).get("/label/prefs/").content.decode()
    assert "rater0 thinks" not in body and labeller_pseudonym(raters[0].pk) not in body


def test_home_links_reviewers_to_the_review_page(disputed, raters, client_for):
    assert "/label/prefs/review/" in client_for(reviewer("rev")).get("/").content.decode()
    assert "/label/prefs/review/" not in client_for(raters[2]).get("/").content.decode()
    assert Group.objects.get(name=LABELLERS_GROUP).user_set.filter(username="rev").exists()
