"""Deleting a campaign takes its prompts, candidates, items and labels with it, unless another campaign's
items judge its candidates (build_items --source-campaign): then it is refused, naming them."""

from labelapp.models import Campaign, Candidate, Item, ItemCandidate, Label, Prompt
from labelapp.services.items import items_build


def test_a_campaign_with_answers_critiques_items_and_labels_is_deleted_whole(
    correctness_campaign, correctness_items, label_next, labeller, staff, client_for
):
    label_next(
        campaign=correctness_campaign,
        labeller=labeller,
        value={"verdict": "correct", "confidence": "certain"},
    )
    assert Label.objects.count() == 1 and Candidate.objects.filter(parent__isnull=False).exists()

    page = client_for(staff).post(
        f"/admin/labelapp/campaign/{correctness_campaign.pk}/delete/", {"post": "yes"}
    )

    assert page.status_code == 302
    assert not Campaign.objects.exists()
    assert (
        Prompt.objects.count(),
        Candidate.objects.count(),
        Item.objects.count(),
        Label.objects.count(),
    ) == (
        0,
        0,
        0,
        0,
    )


def test_a_campaign_whose_answers_another_campaign_judges_is_kept(
    correctness_campaign, coherence_campaign, correctness_items, label_next, labeller, staff, client_for
):
    items_build(campaign=coherence_campaign, kind="coherence", seed=8, source_campaign=correctness_campaign)
    label_next(campaign=coherence_campaign, labeller=labeller, value={"verdict": "coherent"})
    client = client_for(staff)

    confirm = client.get(f"/admin/labelapp/campaign/{correctness_campaign.pk}/delete/").content.decode()
    assert "would require deleting the following protected related objects" in confirm
    client.post(f"/admin/labelapp/campaign/{correctness_campaign.pk}/delete/", {"post": "yes"})
    assert Campaign.objects.filter(pk=correctness_campaign.pk).exists()
    assert (
        Item.objects.filter(campaign=coherence_campaign).count()
        == ItemCandidate.objects.filter(item__campaign=coherence_campaign).count()
        > 0
    )
    assert Label.objects.filter(item__campaign=coherence_campaign).count() == 1

    client.post(f"/admin/labelapp/campaign/{coherence_campaign.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/labelapp/campaign/{correctness_campaign.pk}/delete/", {"post": "yes"})
    assert not Campaign.objects.exists() and not Candidate.objects.exists()
