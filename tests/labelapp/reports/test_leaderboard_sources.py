"""The leaderboard from ranking campaigns (consensus order expanded to pairs) and from set-vs-set campaigns
(the preferred set as a comparison of the two sets' generators), counted by hand."""

import json

import pytest
from django.core.management import call_command

from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Label, Prompt
from labelapp.selectors.reports import leaderboard_report_for, ranking_outcomes, set_vs_set_outcomes


def _candidate(prompt, generator, temperature, sample=0):
    return Candidate.objects.create(
        prompt=prompt,
        generator=generator,
        params={"temperature": temperature, "seed": sample},
        params_key=f"{generator.name}-{temperature}-{sample}",
        sample_index=sample,
        text=f"{generator.name} at {temperature}, sample {sample}, on {prompt.text}",
    )


def _item(campaign, prompt, candidates, positions):
    item = Item.objects.create(campaign=campaign, kind=campaign.kind, prompt=prompt)
    for index, (candidate, position) in enumerate(zip(candidates, positions, strict=True)):
        ItemCandidate.objects.create(item=item, candidate=candidate, index=index, position=position)
    return item


def _labels(item, labellers, values):
    for labeller, value in zip(labellers, values, strict=True):
        Label.objects.create(
            item=item, labeller=labeller, value=value, idempotency_key=f"{item.pk}-{labeller.pk}"
        )


@pytest.fixture
def generators(db):
    return Generator.objects.create(name="big", model="embedded"), Generator.objects.create(
        name="small", model="embedded"
    )


# Canonical 0 = big, 1 = small at 0.3, 2 = small at 1.0. Orders per item, two labellers each:
#   item 0: 0>1>2 twice        -> big>s03, big>s10, s03>s10, all decided
#   item 1: 0>1>2 and 1>0>2    -> big vs s03 split (no majority); big>s10, s03>s10
#   item 2: 1>0>2 twice        -> s03>big, big>s10, s03>s10
#   item 3: no label
RANKINGS = [[[0, 1, 2], [0, 1, 2]], [[0, 1, 2], [1, 0, 2]], [[1, 0, 2], [1, 0, 2]], None]


@pytest.fixture
def ranks(generators, labeller, other_labeller):
    big, small = generators
    campaign = Campaign.objects.create(name="ranks", kind="ranking")
    for number, orders in enumerate(RANKINGS):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        trio = [_candidate(prompt, big, 0.7), _candidate(prompt, small, 0.3), _candidate(prompt, small, 1.0)]
        item = _item(campaign, prompt, trio, [2, 0, 1])
        if orders:
            values = [
                {"order": order, "top": order[0], "all_flawed": False, "rationale": ""} for order in orders
            ]
            _labels(item, [labeller, other_labeller], values)
    return campaign


def test_rankings_become_the_consensus_pairs(ranks):
    outcomes, unlabelled = ranking_outcomes(campaign=ranks)
    assert unlabelled == 1
    assert len(outcomes) == 9  # three pairs in each of three labelled items
    assert sum(o.choice is None for o in outcomes) == 1
    undecided = next(o for o in outcomes if o.choice is None)
    assert (undecided.first.generator, undecided.second.generator) == ("big", "small")
    # Every decided pair is stored winner first.
    winners = [(o.first.generator, o.first.params["temperature"]) for o in outcomes if o.choice == "a"]
    assert winners.count(("big", 0.7)) == 4 and winners.count(("small", 0.3)) == 4


def test_the_ranking_leaderboard_by_hand(ranks):
    report = leaderboard_report_for(campaign=ranks, bootstrap_samples=30, seed=0)
    assert report.source == "ranking"
    big, small = report.by_generator.players
    assert (big.key, big.wins, big.losses, small.wins) == ("big", 4, 1, 1)
    assert (report.generator_counts.items, report.generator_counts.used) == (8, 5)
    assert report.generator_counts.same_player == 3
    assert (report.items_without_majority, report.items_unlabelled) == (1, 1)
    assert report.config_counts.used == 8
    assert len(report.by_config.players) == 3


def test_the_ranking_leaderboard_report_command(ranks, tmp_path):
    out = tmp_path / "ranks.json"
    call_command(
        "report", "--campaign", "ranks", "--kind", "leaderboard", "--out", str(out), "--bootstrap", "20"
    )
    data = json.loads(out.read_text())
    assert data["source"] == "ranking" and data["by_generator"]["comparisons"] == 5
    html = tmp_path / "ranks.html"
    call_command(
        "report", "--campaign", "ranks", "--kind", "leaderboard", "--out", str(html), "--bootstrap", "20"
    )
    page = html.read_text()
    assert "read off the labellers’ consensus order" in page
    assert page.count('class="report-chart interval-chart"') == 2


# X = big (canonical 0, 1), Y = small at 0.3 (2, 3). Preferred per item, two labellers each:
#   x, x (big wins) | x, tie (split) | y, y (small wins) | tie, tie (tie) | no label
PREFERENCES = [["x", "x"], ["x", "tie"], ["y", "y"], ["tie", "tie"], None]


@pytest.fixture
def sets(generators, labeller, other_labeller):
    big, small = generators
    campaign = Campaign.objects.create(name="sets", kind="set-vs-set")
    for number, preferred in enumerate(PREFERENCES):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        samples = [_candidate(prompt, big, 0.7, s) for s in (0, 1)] + [
            _candidate(prompt, small, 0.3, s) for s in (0, 1)
        ]
        item = _item(campaign, prompt, samples, [5, 6, 0, 1])
        if preferred:
            _labels(
                item, [labeller, other_labeller], [{"preferred": p, "more_diverse": "tie"} for p in preferred]
            )
    return campaign


def test_set_vs_set_items_compare_the_two_generators(sets, staff, client_for):
    outcomes, unlabelled = set_vs_set_outcomes(campaign=sets)
    assert unlabelled == 1
    assert [o.choice for o in outcomes] == ["a", None, "b", "tie"]
    assert {(o.first.generator, o.second.generator) for o in outcomes} == {("big", "small")}
    report = leaderboard_report_for(campaign=sets, bootstrap_samples=0, seed=0)
    big, small = sorted(report.by_generator.players, key=lambda p: p.key)
    assert (big.wins, big.losses, big.ties, small.wins) == (1, 1, 1, 1)
    assert (report.generator_counts.used, report.generator_counts.ties, report.items_without_majority) == (
        3,
        1,
        1,
    )
    page = client_for(staff).get("/manage/sets/reports/leaderboard/")
    assert page.status_code == 200
    assert "the set the labellers’ majority would rather pick an answer from" in page.content.decode()
