"""Diversity metrics on sets with known values, and the sets-level report with a stand-in embedder."""

import math

import numpy as np
import pytest

from labelapp.reports.diversity import (
    CompletionSet,
    distinct_n,
    diversity_report,
    embed_sets,
    mean_interval,
    mean_pairwise_distance,
    self_bleu,
    vendi_score,
)


def test_distinct_n_on_hand_sets():
    texts = ["The cat sat", "the cat ran"]
    # Unigrams: the cat sat the cat ran: 4 distinct of 6. Bigrams: the-cat cat-sat the-cat cat-ran: 3 of 4.
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    # Punctuation is a token of its own: "yes ." twice = 2 distinct of 4.
    assert distinct_n(["Yes.", "yes ."], 1) == pytest.approx(2 / 4)
    assert distinct_n(["a b c", "d e f"], 1) == 1.0
    assert distinct_n(["one"], 2) is None
    with pytest.raises(ValueError, match="at least 1"):
        distinct_n(texts, 0)


def test_self_bleu_is_100_for_identical_texts_and_0_for_disjoint_ones():
    assert self_bleu(["the cat sat on the mat"] * 3) == pytest.approx(100)
    assert self_bleu(["alpha beta gamma delta", "one two three four"]) == pytest.approx(0)
    partial = self_bleu(["the cat sat on the mat", "the cat sat on a mat", "dogs run far away"])
    assert 0 < partial < 100
    assert self_bleu(["alone"]) is None


def test_vendi_score_known_values():
    n = 5
    assert vendi_score(np.tile([[0.3, 0.4, 0.5]], (n, 1))) == pytest.approx(1.0)
    assert vendi_score(np.eye(n)) == pytest.approx(n)
    # Two unit vectors at cosine 0.5: eigenvalues of K/2 are 0.75 and 0.25.
    pair = np.array([[1.0, 0.0], [0.5, math.sqrt(0.75)]])
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert vendi_score(pair) == pytest.approx(math.exp(entropy))
    assert vendi_score(np.zeros((0, 3))) is None


def test_mean_pairwise_distance_known_values():
    assert mean_pairwise_distance(np.tile([[1.0, 2.0]], (3, 1))) == pytest.approx(0.0)
    assert mean_pairwise_distance(np.eye(4)) == pytest.approx(1.0)
    assert mean_pairwise_distance(np.array([[1.0, 0.0], [-2.0, 0.0]])) == pytest.approx(2.0)
    assert mean_pairwise_distance(np.eye(1)) is None
    with pytest.raises(ValueError, match="length zero"):
        mean_pairwise_distance(np.zeros((2, 2)))


VOCABULARY = ["paris", "france", "capital", "london", "rome", "city", "is", "the"]


def bag_of_words(texts):
    """A stand-in embedder: word counts over a small vocabulary, plus one dimension for anything else."""
    rows = np.zeros((len(texts), len(VOCABULARY) + 1))
    for row, text in enumerate(texts):
        for word in text.lower().split():
            rows[row, VOCABULARY.index(word) if word in VOCABULARY else -1] += 1
    return rows


def test_diversity_report_groups_correlates_and_finds_collapsed_prompts():
    sets = [
        CompletionSet(1, "small", 0.3, ("paris", "paris", "paris "), human_diversity=1.0),
        CompletionSet(2, "small", 0.3, ("the capital is paris", "paris", "paris is the capital"), 2.0),
        CompletionSet(1, "small", 1.0, ("paris", "rome", "london city"), human_diversity=4.0),
        CompletionSet(2, "small", 1.0, ("france", "rome is the city", "london"), human_diversity=4.0),
        CompletionSet(3, "big", None, ("paris", "paris", "paris")),
    ]
    report = diversity_report(sets, embeddings=embed_sets(sets, bag_of_words))

    collapsed = report.sets[0]
    assert collapsed.all_identical and collapsed.vendi == pytest.approx(1.0)
    assert collapsed.distinct_1 == pytest.approx(1 / 3)
    assert collapsed.self_bleu == pytest.approx(100)
    assert not report.sets[1].all_identical

    assert [(g.generator, g.temperature) for g in report.groups] == [
        ("big", None),
        ("small", 0.3),
        ("small", 1.0),
    ]
    big, cold, hot = report.groups
    assert cold.collapsed_prompts == (1,) and hot.collapsed_prompts == () and big.collapsed_prompts == (3,)
    assert cold.human_diversity == pytest.approx(1.5) and big.human_diversity is None
    # Ratings 1 and 2: mean 1.5, sd 0.707, t(0.975, 1) = 12.706: 1.5 +- 6.353, cut to the 1-5 scale.
    assert (cold.human_low, cold.human_high) == (1.0, 5.0)
    # 3, 3.5, 4: sd 0.5, t(0.975, 2) = 4.303: 3.5 +- 4.303 * 0.5 / sqrt(3) = 3.5 +- 1.242.
    low, high = mean_interval([3.0, 3.5, 4.0])
    assert (low, high) == (pytest.approx(2.258, abs=1e-3), pytest.approx(4.742, abs=1e-3))
    assert (big.judged_sets, big.human_low) == (0, None)
    assert cold.distinct_1 == pytest.approx((1 / 3 + report.sets[1].distinct_1) / 2)
    assert hot.vendi > cold.vendi

    # Judged sets only (the "big" one has no human score): every metric orders them as the humans do,
    # self-BLEU the other way round.
    assert report.correlations["distinct_1"].n == 4
    assert report.correlations["distinct_1"].rho == pytest.approx(1.0)
    assert report.correlations["vendi"].rho == pytest.approx(1.0)
    assert report.correlations["self_bleu"].rho == pytest.approx(-1.0)


@pytest.mark.embedded_model
def test_the_shipped_minilm_model_embeds_offline():
    from labelapp.reports.embeddings import text_embeddings

    rows = text_embeddings(
        ["The capital of France is Paris.", "Paris is France's capital.", "I like trains."]
    )
    assert rows.shape == (3, 384)
    assert np.linalg.norm(rows, axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    similar = mean_pairwise_distance(rows[:2])
    unrelated = mean_pairwise_distance(rows[[0, 2]])
    assert similar < 0.3 < unrelated
    assert vendi_score(text_embeddings(["same words"] * 4)) == pytest.approx(1.0, abs=1e-4)


def test_sets_without_embeddings_get_only_the_lexical_metrics():
    sets = [
        CompletionSet(1, "small", 0.3, ("paris", "paris"), human_diversity=1.0),
        CompletionSet(2, "small", 0.3, ("rome", "london city"), human_diversity=5.0),
    ]
    report = diversity_report(sets, embeddings=[bag_of_words(sets[0].texts), None])
    embedded, missing = report.sets
    assert (
        embedded.vendi == pytest.approx(1.0) and missing.vendi is None and missing.embedding_distance is None
    )
    assert missing.distinct_1 == 1.0
    (group,) = report.groups
    assert group.vendi == pytest.approx(1.0)  # the mean over the sets that have one
    assert report.correlations["vendi"].n == 1 and report.correlations["distinct_1"].n == 2
    with pytest.raises(ValueError, match="one embeddings entry per set, got 1 for 2"):
        diversity_report(sets, embeddings=[None])
