"""Admin actions on queues, driven through the Django admin as a staff user would."""

from labelapp.models import CampaignStatus, Item, LabellerProfile, Lease
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next


def act(client, model: str, action: str, ids: list[int]):
    return client.post(f"/admin/labelapp/{model}/", {"action": action, "_selected_action": ids}, follow=True)


def test_pause_and_resume_a_campaign(campaign, staff, client_for):
    client = client_for(staff)
    assert "Paused 1 campaign(s)." in act(client, "campaign", "pause", [campaign.pk]).content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    act(client, "campaign", "resume", [campaign.pk])
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE


def test_priority_requeue_and_gold_from_the_majority(campaign, pairwise_items, labeller, staff, client_for):
    client = client_for(staff)
    first, second, _ = pairwise_items
    act(client, "item", "raise_priority", [first.pk])
    first.refresh_from_db()
    assert first.priority == 1
    assert lease_next(labeller=labeller, campaign=campaign) == first  # the raised item is served first

    assert "Released 1 lease(s)." in act(client, "item", "requeue", [first.pk]).content.decode()
    assert not Lease.objects.exists()

    lease_next(labeller=labeller, campaign=campaign)
    label_submit(
        item_id=first.pk,
        labeller=labeller,
        value={"choice": "tie"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    )
    page = act(client, "item", "mark_gold", [first.pk, second.pk]).content.decode()
    assert "Marked 1 item(s) gold." in page and f"Items {second.pk} have no clear majority" in page
    first.refresh_from_db()
    assert (first.is_gold, first.gold_value) == (True, {"choice": "tie"})
    act(client, "item", "unmark_gold", [first.pk])
    assert not Item.objects.filter(is_gold=True).exists()


def test_suspend_and_release_a_labeller(campaign, pairwise_items, labeller, staff, client_for):
    profile = LabellerProfile.objects.create(user=labeller)
    lease_next(labeller=labeller, campaign=campaign)
    act(client_for(staff), "labellerprofile", "suspend", [profile.pk])
    profile.refresh_from_db()
    assert profile.suspended and profile.suspended_reason == "suspended by admin"
    assert not Lease.objects.filter(labeller=labeller).exists()
    act(client_for(staff), "labellerprofile", "unsuspend", [profile.pk])
    profile.refresh_from_db()
    assert not profile.suspended


def test_labellers_cannot_run_admin_actions(campaign, labeller, client_for):
    response = act(client_for(labeller), "campaign", "pause", [campaign.pk])
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE and "/admin/login/" in response.redirect_chain[-1][0]


def test_the_campaign_form_refuses_min_labels_above_labels_per_item_and_applies_a_valid_one(
    campaign, pairwise_items, staff, client_for
):
    client = client_for(staff)
    form = {
        "name": campaign.name,
        "kind": "pairwise",
        "labels_per_item": 2,
        "min_labels": 3,
        "agreement_to_stop": 1.0,
        "lease_seconds": 600,
        "priority": 0,
        "required_skills": "[]",
        "gold_rate": 0.0,
        "min_gold_labels": 5,
        "criteria": "[]",
        "error_categories": "[]",
        "continue_turns": 0,
        "selection": "uniform",
        "status": "active",
    }
    page = client.post(f"/admin/labelapp/campaign/{campaign.pk}/change/", form).content.decode()
    assert "Field &#x27;min_labels&#x27; must be from 1 to labels_per_item" in page
    campaign.refresh_from_db()
    assert campaign.min_labels is None
    form["min_labels"] = 2
    assert client.post(f"/admin/labelapp/campaign/{campaign.pk}/change/", form).status_code == 302
    campaign.refresh_from_db()
    assert campaign.min_labels == 2
    form["labels_per_item"], form["min_labels"] = 3, 1
    assert client.post(f"/admin/labelapp/campaign/{campaign.pk}/change/", form).status_code == 302
    assert set(Item.objects.values_list("labels_wanted", flat=True)) == {1}  # the unlabelled items follow
