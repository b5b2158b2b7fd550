"""The campaign dashboard: exact numbers on a campaign small enough to work out by hand, its page and API."""

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.models import (
    LABELLERS_GROUP,
    Adjudication,
    Campaign,
    Item,
    Label,
    LabellerProfile,
    Lease,
    Prompt,
    Skip,
)
from labelapp.selectors.dashboard import PAIR_MIN_SHARED_ITEMS, campaign_dashboard
from labelapp.selectors.labellers import labeller_blocked_reason, labeller_refusal
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.labelapp.exporters.conftest import prompts_with_pairs, vote

HTMX = {"HTTP_HX_REQUEST": "true"}


@dataclass
class Scenario:
    campaign: Campaign
    now: datetime
    hour: datetime  # start of the current clock hour


def _labeller(name: str) -> User:
    """A labeller with no password: hashing one per user would make these tests slow."""
    user = User.objects.create(username=name)
    user.groups.add(Group.objects.get_or_create(name=LABELLERS_GROUP)[0])
    return user


def _item(campaign: Campaign, number: int, *, gold: bool = False) -> Item:
    prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
    return Item.objects.create(
        campaign=campaign,
        kind="pairwise",
        prompt=prompt,
        is_gold=gold,
        gold_value={"choice": "a"} if gold else None,
    )


def _label(item, user, choice, strength=None, *, seconds, at, gold_correct=None) -> Label:
    label = Label.objects.create(
        item=item,
        labeller=user,
        value={"choice": choice, "strength": strength, "rationale": "a long rationale " * 50},
        seconds_spent=seconds,
        idempotency_key=f"{item.pk}-{user.pk}",
        gold_correct=gold_correct,
    )
    Label.objects.filter(pk=label.pk).update(created_at=at)  # auto_now_add cannot be set on create
    return label


@pytest.fixture
def scenario(campaign) -> Scenario:
    """Nine items (k = 2) and five gold items, seven people in the dashboard, one more who is not.

    item  labels (choice/strength)                       state
    i1    alice a/slight, bob a/slight                   complete, majority a
    i2    alice b/strong, bob b/strong                   complete, majority b
    i3    alice a/slight, bob b/clear                    complete, split: no majority
    i4    carol a/clear                                  in progress (one label)
    i5    -, gina holds a live lease                     in progress
    i6    -, henry's lease expired                       untouched
    i7    -, skipped by frank                            untouched
    i8    -, skipped by frank and dave                   untouched
    i9    alice a/clear, bob a, carol b                  complete, majority a
    gold  g1: alice right, bob wrong, erin right; g2-g5: erin right once, wrong three times
    """
    campaign.min_gold_accuracy = 0.7
    campaign.min_gold_labels = 5
    campaign.save()
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    users = {
        name: _labeller(name) for name in ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry"]
    }
    alice, bob, carol, dave, erin, frank, gina, henry = users.values()
    i1, i2, i3, i4, i5, i6, i7, i8, i9 = (_item(campaign, n) for n in range(1, 10))
    gold = [_item(campaign, 100 + n, gold=True) for n in range(5)]

    at_alice = hour  # the current hour, the last bucket
    at_bob = hour - timedelta(seconds=1)  # the hour before
    at_carol = hour - timedelta(hours=23)  # the oldest hour shown
    at_erin = hour - timedelta(hours=23, seconds=1)  # just before the 24 hours shown
    _label(i1, alice, "a", "slight", seconds=10, at=at_alice)
    _label(i2, alice, "b", "strong", seconds=20, at=at_alice)
    _label(i3, alice, "a", "slight", seconds=30, at=at_alice)
    _label(i9, alice, "a", "clear", seconds=40, at=at_alice)
    _label(gold[0], alice, "a", seconds=5, at=at_alice, gold_correct=True)
    _label(i1, bob, "a", "slight", seconds=12, at=at_bob)
    _label(i2, bob, "b", "strong", seconds=14, at=at_bob)
    _label(i3, bob, "b", "clear", seconds=100, at=at_bob)
    _label(i9, bob, "a", seconds=16, at=at_bob)
    _label(gold[0], bob, "b", "strong", seconds=8, at=at_bob, gold_correct=False)
    _label(i4, carol, "a", "clear", seconds=7, at=at_carol)
    _label(i9, carol, "b", seconds=9, at=at_carol)
    for number, correct in enumerate([True, True, False, False, False]):
        _label(gold[number], erin, "tie" if not correct else "a", seconds=3, at=at_erin, gold_correct=correct)

    Lease.objects.create(item=i5, labeller=gina, expires_at=now + timedelta(minutes=10))
    Lease.objects.create(item=i6, labeller=henry, expires_at=now - timedelta(minutes=1))
    Skip.objects.create(item=i7, labeller=frank, reason="Cannot judge code")
    Skip.objects.create(item=i8, labeller=frank)
    Skip.objects.create(item=i8, labeller=dave)
    LabellerProfile.objects.create(user=dave, suspended=True, suspended_reason="Copy-pasted rationales")
    return Scenario(campaign=campaign, now=now, hour=hour)


def test_progress_counts_items_by_state_and_leaves_gold_out(scenario):
    d = campaign_dashboard(campaign=scenario.campaign, now=scenario.now)
    assert (d.items_total, d.items_complete, d.items_in_progress, d.items_untouched) == (9, 4, 2, 3)
    assert (d.gold_items, d.labels_total, d.labels_wanted, d.gold_labels) == (5, 10, 18, 7)


def test_labels_fall_in_the_clock_hour_they_were_made(scenario):
    buckets = campaign_dashboard(campaign=scenario.campaign, now=scenario.now).labels_per_hour
    assert len(buckets) == 24
    assert [b.start for b in buckets] == [scenario.hour - timedelta(hours=23 - i) for i in range(24)]
    # carol's 2 in the oldest hour, bob's 5 one second before this hour, alice's 5 in this hour;
    # erin's 5 are one second too old to be shown.
    assert [b.labels for b in buckets] == [2] + [0] * 21 + [5, 5]


def test_median_seconds_per_label(scenario):
    d = campaign_dashboard(campaign=scenario.campaign, now=scenario.now)
    # 17 labels: 3 3 3 3 3 5 7 8 [9] 10 12 14 16 20 30 40 100
    assert d.median_seconds == 9
    medians = {row.username: row.median_seconds for row in d.labellers}
    assert medians == {
        "alice": 20,  # 5 10 [20] 30 40
        "bob": 14,  # 8 12 [14] 16 100
        "carol": 8,  # (7 + 9) / 2
        "dave": None,
        "erin": 3,
        "frank": None,
        "gina": None,
    }


def test_alpha_over_non_gold_items_with_two_or_more_labels(scenario):
    d = campaign_dashboard(campaign=scenario.campaign, now=scenario.now)
    # Choice units i1 {a,a}, i2 {b,b}, i3 {a,b}, i9 {a,a,b}: n_a = 5, n_b = 4, n = 9. Coincidences of a with b:
    # 1 from i3 (weight 1/(2-1)) and 2 * 1/(3-1) = 1 from i9, so o_ab = 2.
    # alpha = 1 - (n - 1) * o_ab / (n_a * n_b) = 1 - 8 * 2 / 20 = 0.2. Gold items would change it: they are out.
    assert d.agreements[0].result.alpha == pytest.approx(0.2)
    assert (d.agreements[0].result.items, d.agreements[0].result.labels) == (4, 9)
    # Strength units i1 {slight,slight}, i2 {strong,strong}, i3 {slight,clear} (i4 and i9 have one strength):
    # ordinal alpha = 7/9, worked out in tests/labelapp/reports/test_agreement.py.
    assert d.agreements[1].result.alpha == pytest.approx(7 / 9)
    assert (d.agreements[1].result.items, d.agreements[1].result.labels) == (3, 6)


def test_each_labeller_row(scenario):
    rows = {
        row.username: row
        for row in campaign_dashboard(campaign=scenario.campaign, now=scenario.now).labellers
    }
    assert list(rows) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]  # henry's lease expired
    table = {
        name: (
            r.labels,
            r.gold_labels,
            r.gold_accuracy,
            r.majority_labels,
            r.majority_agreement,
            r.skips,
            r.suspended,
            r.blocked_reason,
        )
        for name, r in rows.items()
    }
    assert table == {
        # i1 and i2 agree with the majority, i3 has none (a split), i9's majority is a: 3 of 4.
        "alice": (5, 1, 1.0, 4, 0.75, 0, False, None),
        # 0% on gold, but after one gold label only: the campaign judges after five.
        "bob": (5, 1, 0.0, 4, 0.75, 0, False, None),
        # i4 has one label and does not count; on i9 carol is the minority.
        "carol": (2, 0, None, 1, 0.0, 0, False, None),
        "dave": (0, 0, None, 0, None, 1, True, "Suspended: Copy-pasted rationales"),
        "erin": (5, 5, 0.4, 0, None, 0, False, "Gold accuracy 40% is below the campaign's 70%"),
        "frank": (0, 0, None, 0, None, 2, False, None),
        "gina": (0, 0, None, 0, None, 0, False, None),
    }


def test_blocked_reason_agrees_with_routing(scenario):
    """Whoever the dashboard says is blocked is exactly whoever lease_next refuses."""
    for row in campaign_dashboard(campaign=scenario.campaign, now=scenario.now).labellers:
        user = User.objects.get(pk=row.labeller_id)
        refusal = labeller_refusal(labeller=user, campaign=scenario.campaign)
        assert (row.blocked_reason is None) == (refusal is None), row.username


def test_blocked_reason_wording():
    campaign = Campaign(name="c", min_gold_accuracy=0.7, min_gold_labels=5, required_skills=["lang:fr"])
    reason = lambda **kw: labeller_blocked_reason(  # noqa: E731
        campaign=campaign, **{"suspended": False, "suspended_reason": "", "skills": ["lang:fr"], **kw}
    )
    assert reason(suspended=True, gold_labels=0, gold_correct=0) == "Suspended (no reason given)"
    assert (
        reason(skills=[], gold_labels=0, gold_correct=0) == "Lacks the campaign's required skill(s): lang:fr"
    )
    assert reason(gold_labels=4, gold_correct=0) is None  # not judged before min_gold_labels
    assert reason(gold_labels=10, gold_correct=7) is None  # 70% is not below 70%
    # 69.6% would round to "70%": one decimal is shown instead of "70% is below the campaign's 70%".
    assert reason(gold_labels=1000, gold_correct=696) == "Gold accuracy 69.6% is below the campaign's 70.0%"


def test_an_empty_campaign_has_nothing_to_show(campaign):
    d = campaign_dashboard(campaign=campaign)
    assert (d.items_total, d.labels_total, d.median_seconds, d.labellers) == (0, 0, None, ())
    assert d.agreements[0].result.alpha is None and d.agreements[1].result.alpha is None
    assert [b.labels for b in d.labels_per_hour] == [0] * 24


def test_labels_made_through_the_services_show_up(campaign, pairwise_items, labeller, other_labeller):
    """The real flow: lease_next then label_submit (and its seconds_spent) feed the dashboard."""
    for user, choice in ((labeller, "tie"), (other_labeller, "tie")):
        item = lease_next(labeller=user, campaign=campaign)
        label_submit(
            item_id=item.pk,
            labeller=user,
            value={"choice": choice},
            idempotency_key="k",
            campaign=None,
            lease_next=False,
        )
    d = campaign_dashboard(campaign=campaign)
    assert (d.items_complete, d.items_untouched, d.labels_total) == (1, 2, 2)  # the second finishes the first
    assert d.labels_per_hour[-1].labels == 2
    assert [(r.username, r.labels, r.majority_agreement) for r in d.labellers] == [
        ("labeller1", 1, 1.0),
        ("labeller2", 1, 1.0),
    ]


def test_the_selector_takes_four_queries_however_many_labels(scenario, django_assert_num_queries):
    with django_assert_num_queries(4):
        campaign_dashboard(campaign=scenario.campaign, now=scenario.now)
    more = [_labeller(f"extra{n}") for n in range(5)]
    for n, user in enumerate(more):
        item = _item(scenario.campaign, 200 + n)
        for other in more:
            _label(item, other, "ab"[n % 2], "clear", seconds=n, at=scenario.now)
        Skip.objects.create(item=_item(scenario.campaign, 300 + n), labeller=user)
        LabellerProfile.objects.create(user=user)
    with django_assert_num_queries(4):
        d = campaign_dashboard(campaign=scenario.campaign, now=scenario.now)
    assert len(d.labellers) == 12


# The page


def test_staff_see_the_dashboard_with_its_charts(scenario, staff, client_for):
    response = client_for(staff).get("/manage/prefs/dashboard/")
    page = response.content.decode()
    text = html.unescape(page)
    assert response.status_code == 200 and "<html" in page
    assert page.count('class="bar"') == 24  # one bar per hour
    assert (
        'class="seg-complete"' in page
        and 'class="seg-in-progress"' in page
        and 'class="seg-untouched"' in page
    )
    assert "Complete: <strong>4</strong> (44%)" in page and "Untouched: <strong>3</strong> (33%)" in page
    assert "Gold accuracy 40% is below the campaign's 70%" in text
    assert "Suspended: Copy-pasted rationales" in text
    assert "0.200" in page and "0.778" in page  # choice and strength alpha
    # Polls itself every 10 s, with a plain link beside the hx-get.
    assert 'hx-get="/manage/prefs/dashboard/"' in page and 'hx-trigger="every 10s"' in page
    assert 'href="/manage/prefs/dashboard/"' in page


def test_htmx_gets_the_fragment_only(scenario, staff, client_for):
    response = client_for(staff).get("/manage/prefs/dashboard/", **HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="dashboard"') and 'data-labeller="erin"' in fragment
    assert "0.200" in fragment  # the alpha partial renders inside the fragment too


def test_the_manage_page_links_to_the_dashboard(campaign, staff, client_for):
    page = client_for(staff).get("/manage/prefs/").content.decode()
    assert 'href="/manage/prefs/dashboard/">Dashboard</a>' in page


def test_only_staff_may_see_the_dashboard(campaign, labeller, client_for, client):
    assert client_for(labeller).get("/manage/prefs/dashboard/").status_code == 403
    anonymous = client.get("/manage/prefs/dashboard/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_an_unknown_campaign_is_a_404_page(staff, client_for):
    response = client_for(staff).get("/manage/nope/dashboard/")
    assert response.status_code == 404 and "nope" in response.content.decode()


def test_the_page_takes_a_fixed_number_of_queries(scenario, staff, client_for, django_assert_max_num_queries):
    client = client_for(staff)
    with django_assert_max_num_queries(8):  # session, user, campaign, the dashboard's four
        response = client.get("/manage/prefs/dashboard/", **HTMX)
    assert response.status_code == 200


# The API


def _api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_api_answers_the_same_numbers(scenario, staff):
    response = _api_as(staff).get("/api/v1/campaigns/prefs/dashboard/")
    body = response.json()
    assert response.status_code == 200
    assert {
        k: body[k] for k in ("items_total", "items_complete", "items_in_progress", "items_untouched")
    } == {
        "items_total": 9,
        "items_complete": 4,
        "items_in_progress": 2,
        "items_untouched": 3,
    }
    assert (body["gold_items"], body["labels_total"], body["labels_wanted"], body["median_seconds"]) == (
        5,
        10,
        18,
        9,
    )
    choice, strength = body["agreements"]
    assert choice == {
        "field": "choice",
        "level": "nominal",
        "result": {"alpha": pytest.approx(0.2), "items": 4, "labels": 9},
    }
    assert (strength["field"], strength["level"]) == ("strength", "ordinal")
    assert strength["result"]["alpha"] == pytest.approx(7 / 9)
    assert len(body["labels_per_hour"]) == 24 and set(body["labels_per_hour"][0]) == {"start", "labels"}
    erin = next(row for row in body["labellers"] if row["username"] == "erin")
    assert erin == {
        "labeller_id": erin["labeller_id"],
        "username": "erin",
        "labels": 5,
        "median_seconds": 3.0,
        "gold_labels": 5,
        "gold_accuracy": 0.4,
        "majority_labels": 0,
        "majority_agreement": None,
        "disagreement": None,
        "skips": 0,
        "suspended": False,
        "blocked_reason": "Gold accuracy 40% is below the campaign's 70%",
    }


def test_the_api_is_for_staff_only(campaign, labeller):
    assert _api_as(labeller).get("/api/v1/campaigns/prefs/dashboard/").status_code == 403
    assert APIClient().get("/api/v1/campaigns/prefs/dashboard/").status_code in (401, 403)


def test_the_api_says_which_campaign_is_unknown(staff):
    response = _api_as(staff).get("/api/v1/campaigns/nope/dashboard/")
    assert response.status_code == 404 and "nope" in response.json()["message"]


def test_the_dashboard_api_is_in_the_openapi_schema(staff):
    schema = _api_as(staff).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/campaigns/{campaign}/dashboard/"]["get"]
    assert operation["operationId"] == "campaign_dashboard"
    component = schema["components"]["schemas"]["CampaignDashboard"]
    assert {"labels_per_hour", "agreements", "labellers"} <= set(component["properties"])


def test_the_api_takes_a_fixed_number_of_queries(scenario, staff, django_assert_max_num_queries):
    client = _api_as(staff)
    with django_assert_max_num_queries(7):  # token and user, campaign, the dashboard's four
        response = client.get("/api/v1/campaigns/prefs/dashboard/")
    assert response.status_code == 200


# Disagreement, per labeller and per pair, against the adjudicated label where there is one


@pytest.fixture
def disagreements(campaign, generator, raters):
    """Three items: r0 a, r1 a, r2 b (majority a); r0 a, r1 b (split, adjudicated b); r0 b, r2 b."""
    items = prompts_with_pairs(campaign, generator, ["One?", "Two?", "Three?"])
    r0, r1, r2 = raters[:3]
    for item, votes in ((items[0], [(r0, "a"), (r1, "a"), (r2, "b")]), (items[1], [(r0, "a"), (r1, "b")])):
        for rater, choice in votes:
            vote(item, rater, choice)
    vote(items[2], r0, "b")
    vote(items[2], r2, "b")
    Adjudication.objects.create(item=items[1], reviewer=raters[3], value={"choice": "b"})
    return raters


def test_each_labellers_disagreement_is_with_the_adjudication_else_the_majority(campaign, disagreements):
    dashboard = campaign_dashboard(campaign=campaign)
    by_name = {row.username: row for row in dashboard.labellers}
    assert {name: (row.majority_labels, row.disagreement) for name, row in by_name.items()} == {
        "rater0": (3, pytest.approx(1 / 3)),
        "rater1": (2, 0.0),
        "rater2": (2, 0.5),
    }
    assert dashboard.adjudicated_items == 1


def test_each_pair_of_labellers_disagreement_on_the_items_both_labelled(campaign, disagreements):
    pairs = campaign_dashboard(campaign=campaign).pairs
    assert [(p.first, p.second, p.shared_items, p.disagreement, p.too_few) for p in pairs] == [
        ("rater0", "rater1", 2, 0.5, True),
        ("rater0", "rater2", 2, 0.5, True),
        ("rater1", "rater2", 1, 1.0, True),
    ]


def test_a_pair_with_enough_shared_items_is_not_marked(campaign, generator, raters):
    items = prompts_with_pairs(campaign, generator, [f"Question {n}?" for n in range(PAIR_MIN_SHARED_ITEMS)])
    for number, item in enumerate(items):
        vote(item, raters[0], "a")
        vote(item, raters[1], "b" if number == 0 else "a")
    (pair,) = campaign_dashboard(campaign=campaign).pairs
    assert (pair.shared_items, pair.disagreement, pair.too_few) == (
        PAIR_MIN_SHARED_ITEMS,
        pytest.approx(1 / PAIR_MIN_SHARED_ITEMS),
        False,
    )


def test_the_page_shows_both_disagreement_tables(campaign, disagreements, staff, client_for):
    body = client_for(staff).get("/manage/prefs/dashboard/").content.decode()
    assert "Disagreement between labellers" in body
    assert 'data-pair="rater1 rater2"' in body and '100% <span class="muted">(too few items)' in body
    rater2 = body[body.index('data-labeller="rater2"') :].split("</tr>")[0]
    assert '<td class="num disagreement">50%</td>' in rater2
