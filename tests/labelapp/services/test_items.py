import pytest

from labelapp.errors import ApplicationError
from labelapp.kinds.base import BuildOptions
from labelapp.models import Candidate, Generator, Item, ItemCandidate, Prompt
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
    built = items_build(campaign=campaign, kind="pairwise", options=BuildOptions(max_per_prompt=2), seed=0)
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
    with pytest.raises(ApplicationError, match="Unknown task kind 'no-such-kind'"):
        items_build(campaign=campaign, kind="no-such-kind")
    with pytest.raises(ApplicationError, match="Campaign 'prefs' is a pairwise campaign, not ranking"):
        items_build(campaign=campaign, kind="ranking")


def self_critique_chain(prompt, generator, answer_text, revision_text):
    answer = Candidate.objects.create(prompt=prompt, generator=generator, text=answer_text, step="answer")
    critique = Candidate.objects.create(
        prompt=prompt, generator=generator, text="1. Wrong.", step="critique", parent=answer
    )
    revision = Candidate.objects.create(
        prompt=prompt, generator=generator, text=revision_text, step="revision", parent=critique
    )
    return answer, critique, revision


def test_answer_vs_revision_pairs_each_answer_with_its_own_revision(campaign, generator):
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    first = self_critique_chain(prompt, generator, "draft one", "better one")
    second = self_critique_chain(prompt, generator, "draft two", "better two")
    built = items_build(
        campaign=campaign, kind="pairwise", options=BuildOptions(pairing="answer-vs-revision")
    )
    pairs = {frozenset(i.candidates.values_list("id", flat=True)) for i in Item.objects.all()}
    assert built.created == 2
    assert pairs == {frozenset({first[0].id, first[2].id}), frozenset({second[0].id, second[2].id})}


def test_critiques_are_never_paired_as_answers(campaign, generator):
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    answer, critique, revision = self_critique_chain(prompt, generator, "draft", "better")
    items_build(campaign=campaign, kind="pairwise")
    assert not ItemCandidate.objects.filter(candidate=critique).exists()
    assert set(Item.objects.get().candidates.values_list("id", flat=True)) == {answer.id, revision.id}


def test_an_unknown_pairing_is_named(campaign):
    with pytest.raises(ApplicationError, match="Unknown pairing 'random'"):
        items_build(campaign=campaign, kind="pairwise", options=BuildOptions(pairing="random"))


def test_cross_generator_pairing_spends_no_item_on_a_same_model_pair(campaign, generator):
    other = Generator.objects.create(name="other-model", model="embedded")
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    mine = candidates_add(prompt, generator, ["mine one", "mine two"])
    theirs = candidates_add(prompt, other, ["theirs one", "theirs two"])
    built = items_build(campaign=campaign, kind="pairwise", options=BuildOptions(pairing="cross-generator"))
    pairs = {frozenset(i.candidates.values_list("id", flat=True)) for i in Item.objects.all()}
    assert built.created == 4
    assert pairs == {frozenset({m.id, t.id}) for m in mine for t in theirs}


def best_of_n_samples(prompt, generator, texts, selected):
    """A best-of-N job's samples as it stores them: every one scored, one selected."""
    return [
        Candidate.objects.create(
            prompt=prompt,
            generator=generator,
            text=text,
            sample_index=index,
            params_key="best-of-n",
            selection={"method": "logprob", "n": len(texts), "score": -1.0, "selected": index == selected},
        )
        for index, text in enumerate(texts)
    ]


def test_a_best_of_n_choice_takes_only_the_selected_answers(campaign, generator):
    other = Generator.objects.create(name="other", model="embedded")
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    best = best_of_n_samples(prompt, generator, ["s0", "s1", "s2"], selected=1)[1]
    (rival,) = candidates_add(prompt, other, ["rival"])

    built = items_build(
        campaign=campaign,
        kind="pairwise",
        options=BuildOptions(generators=("fake-model:best-of-n", "other"), pairing="cross-generator"),
    )

    assert built.created == 1
    (item,) = Item.objects.all()
    assert set(item.candidates.values_list("id", flat=True)) == {best.pk, rival.pk}


def test_best_of_n_vs_sample_pairs_each_generator_with_itself_only(campaign, generator):
    other = Generator.objects.create(name="other", model="embedded")
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    best = best_of_n_samples(prompt, generator, ["s0", "s1"], selected=0)[0]
    singles = candidates_add(prompt, generator, ["single 1", "single 2"])
    candidates_add(prompt, other, ["other single"])  # no best-of-N of its own: nothing to pit it against

    items_build(campaign=campaign, kind="pairwise", options=BuildOptions(pairing="best-of-n-vs-sample"))

    pairs = {frozenset(i.candidates.values_list("id", flat=True)) for i in Item.objects.all()}
    assert pairs == {frozenset({best.pk, single.pk}) for single in singles}
