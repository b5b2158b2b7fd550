import pytest

from labelapp.errors import ApplicationError
from labelapp.models import Item, ItemCandidate, Prompt
from labelapp.services.items import items_build
from tests.factories import candidates_add


def test_each_pair_of_a_prompts_candidates_becomes_one_item(campaign, generator):
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    a, b, c = candidates_add(prompt, generator, ["one", "two", "three"])
    built = items_build(campaign=campaign, kind="pairwise", seed=3)
    assert (built.created, built.skipped_identical) == (3, 0)
    pairs = {frozenset(i.candidates.values_list("id", flat=True)) for i in Item.objects.all()}
    assert pairs == {frozenset({a.id, b.id}), frozenset({a.id, c.id}), frozenset({b.id, c.id})}


def test_building_again_adds_only_new_pairs(campaign, generator):
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    candidates_add(prompt, generator, ["one", "two"])
    items_build(campaign=campaign, kind="pairwise")
    candidates_add(prompt, generator, ["three"])
    again = items_build(campaign=campaign, kind="pairwise")
    assert (again.created, again.already_built) == (2, 1)
    assert Item.objects.count() == 3


def test_identical_texts_are_not_paired_and_max_per_prompt_caps(campaign, generator):
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    candidates_add(prompt, generator, ["same", " same ", "other", "more"])
    built = items_build(campaign=campaign, kind="pairwise", max_per_prompt=2, seed=0)
    assert built.created == 2
    assert built.skipped_identical <= 1


def test_shown_positions_are_randomised_and_stored(campaign, generator):
    for number in range(40):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Q{number}?")
        candidates_add(prompt, generator, ["x", "y"])
    items_build(campaign=campaign, kind="pairwise", seed=11)
    swapped = ItemCandidate.objects.filter(index=0, position=1).count()
    assert 8 < swapped < 32  # both orders occur
    assert ItemCandidate.objects.filter(index=0).count() == 40


def test_kind_must_match_the_campaign(campaign):
    with pytest.raises(ApplicationError, match="Unknown task kind 'ranking'"):
        items_build(campaign=campaign, kind="ranking")
