"""The generator leaderboard on a seeded campaign counted by hand (see seed.py), and config names."""

import math

import pytest

from labelapp.reports.leaderboard import Player, config_names
from labelapp.selectors.reports import leaderboard_report_for, pairwise_outcomes
from tests.labelapp.reports.seed import leaderboard_campaign


@pytest.fixture
def seeded(campaign, labeller, other_labeller):
    return leaderboard_campaign(campaign, [labeller, other_labeller])


def test_outcomes_are_one_majority_per_labelled_non_gold_item(seeded, django_assert_num_queries):
    with django_assert_num_queries(3):
        outcomes, unlabelled = pairwise_outcomes(campaign=seeded.campaign)
    assert len(outcomes) == 15 and unlabelled == 1
    assert sum(o.choice is None for o in outcomes) == 1
    assert all(o.item_id != seeded.items[(6, "big-small03")].pk for o in outcomes)


def test_generator_board(seeded):
    report = leaderboard_report_for(campaign=seeded.campaign, bootstrap_samples=100, seed=1)
    board = report.by_generator
    assert board.keys == ("big", "small")
    big, small = board.players
    assert (big.wins, big.losses, big.ties, big.comparisons) == (9, 1, 0, 10)
    # 9 wins in 10: the plain maximum-likelihood scores are ±ln(9)/2; regularisation shrinks them a little.
    assert big.score == pytest.approx(math.log(9) / 2, rel=0.05)
    assert small.score == pytest.approx(-big.score)
    assert big.low < big.score < big.high
    assert board.win_rate[0][1] == pytest.approx(0.9)
    assert board.pair_counts == ((0, 10), (10, 0))
    counts = report.generator_counts
    assert (counts.items, counts.used, counts.same_player, counts.ties) == (14, 10, 4, 0)
    assert (report.items_without_majority, report.items_unlabelled) == (1, 1)


def test_config_board(seeded):
    report = leaderboard_report_for(campaign=seeded.campaign, bootstrap_samples=50, seed=1)
    names = [report.config_names[key] for key in report.by_config.keys]
    assert names == ["big · temperature 0.7", "small · temperature 0.3", "small · temperature 1.0"]
    counts = report.config_counts
    assert (counts.used, counts.same_player, counts.ties) == (14, 0, 1)
    small03 = report.by_config.players[1]
    # small@0.3: lost 4 and won 1 against big; against small@1.0 won 3 and tied 1.
    assert (small03.wins, small03.losses, small03.ties) == (4, 4, 1)
    assert report.by_config.pair_counts[1][2] == 4
    assert report.by_config.win_rate[1][2] == pytest.approx(3.5 / 4)


def test_config_names_show_what_differs_and_ignore_seed_and_n():
    players = [
        Player("m", {"temperature": 0.3, "top_p": 0.9, "seed": 1, "n": 4}),
        Player("m", {"temperature": 0.3, "top_p": 0.9, "seed": 2, "n": 2}),
        Player("m", {"temperature": 0.3, "top_p": 0.5, "seed": 3}),
        Player("m", {"temperature": 0.3, "top_p": 0.5, "seed": 3}, step="revision"),
        Player("solo", {"temperature": 1.0, "seed": 5}),
    ]
    names = config_names(players)
    assert len(names) == 4  # two seeds of one config are one config
    assert sorted(names.values()) == [
        "m · top_p 0.5",
        "m · top_p 0.5 · revision",
        "m · top_p 0.9",
        "solo · temperature 1.0",
    ]
