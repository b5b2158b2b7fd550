"""User story: a labeller's laptop sleeps with an item open; meanwhile their lease runs out and two others
label the item. When the page wakes, its heartbeat is refused and the page says so at once."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Label, Lease, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add


@pytest.fixture
def one_pair(db, generator) -> Campaign:
    campaign = Campaign.objects.create(name="prefs", labels_per_item=2)
    prompt = Prompt.objects.create(campaign=campaign, text="Which is better?")
    candidates_add(prompt, generator, ["first answer", "second answer"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return campaign


def _label_through_the_api(user, campaign: Campaign) -> None:
    client = Client()
    client.force_login(user)
    leased = client.post(f"/api/v1/campaigns/{campaign.name}/next-item/").json()["item"]
    answer = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"choice": "a"}, "idempotency_key": uuid.uuid4().hex},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_page_whose_lease_was_lost_says_so_when_its_heartbeat_is_refused(
    live_server, page: Page, page_errors: list[str], labeller, other_labeller, staff, one_pair
):
    page.goto(f"{live_server.url}/accounts/login/?next=/label/prefs/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(2)
    expect(page.locator("#lease-lost")).to_be_hidden()

    # The laptop sleeps: the lease runs out, and two others fill the item (k = 2).
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    _label_through_the_api(other_labeller, one_pair)
    _label_through_the_api(staff, one_pair)

    # The page wakes and its heartbeat fires (sent now rather than waiting for its timer).
    page.evaluate(
        "() => { const beat = document.querySelector('[data-heartbeat]');"
        " htmx.ajax('POST', beat.getAttribute('hx-post'), {source: beat, swap: 'none'}); }"
    )
    expect(page.locator("#lease-lost")).to_be_visible()
    page.get_by_role("link", name="Get another item").click()
    expect(page.locator("#no-items")).to_be_visible()

    assert Label.objects.filter(item__campaign=one_pair).count() == 2
    assert [error.split(" http")[0] for error in page_errors] == ["HTTP 403: POST"]
