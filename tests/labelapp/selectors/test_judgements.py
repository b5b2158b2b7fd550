import pytest

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Candidate, Generator, Item, Label, Prompt
from labelapp.selectors.judgements import candidate_judgements
from labelapp.services.gold import item_set_gold
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add


@pytest.fixture
def campaigns(db, generator) -> tuple[Campaign, Campaign, dict[str, Candidate]]:
    """A correctness campaign with three answers by two generators, and a coherence campaign of the same."""
    facts = Campaign.objects.create(name="facts", kind="correctness", labels_per_item=3)
    fluency = Campaign.objects.create(name="fluency", kind="coherence", labels_per_item=3)
    other = Generator.objects.create(name="other-model", model="embedded")
    prompt = Prompt.objects.create(campaign=facts, text="What is 2 + 2?")
    right, wrong = candidates_add(prompt, generator, ["4", "5"])
    (babble,) = candidates_add(prompt, other, ["four four four purple"])
    items_build(campaign=facts, kind="correctness", seed=1)
    items_build(campaign=fluency, kind="coherence", seed=1, source_campaign=facts)
    return facts, fluency, {"right": right, "wrong": wrong, "babble": babble}


def label_candidate(campaign: Campaign, candidate: Candidate, labeller, value) -> None:
    item = Item.objects.get(campaign=campaign, slots__candidate=candidate)
    Item.objects.filter(campaign=campaign).exclude(pk=item.pk).update(priority=-1)
    assert lease_next(labeller=labeller, campaign=campaign) == item
    label_submit(
        item_id=item.pk,
        labeller=labeller,
        value=value,
        idempotency_key=f"{campaign.pk}-{item.pk}",
        campaign=None,
        lease_next=False,
    )
    Item.objects.filter(campaign=campaign).update(priority=0)


def test_judgements_of_the_same_candidates_are_joined(campaigns, django_assert_num_queries):
    facts, fluency, candidate = campaigns
    users = [user_upsert(username=f"judge{n}", password="pw-for-tests-1") for n in range(3)]
    correct = {"verdict": "correct", "confidence": "certain"}
    incorrect = {"verdict": "incorrect", "confidence": "probably", "error_category": "factual error"}
    coherent = {"verdict": "coherent"}
    for user, value in zip(users, [correct, correct, incorrect], strict=True):
        label_candidate(facts, candidate["right"], user, value)
    for user in users[:2]:
        label_candidate(facts, candidate["wrong"], user, incorrect)
        label_candidate(fluency, candidate["wrong"], user, coherent)
    label_candidate(
        fluency, candidate["babble"], users[0], {"verdict": "incoherent", "reasons": ["gibberish"]}
    )
    label_candidate(fluency, candidate["babble"], users[1], coherent)

    with django_assert_num_queries(2):
        judgements = candidate_judgements(correctness_campaign=facts, coherence_campaign=fluency)

    by_text = {Candidate.objects.get(pk=j.candidate_id).text: j for j in judgements}
    assert list(by_text) == ["4", "5", "four four four purple"]  # by candidate id
    right, wrong, babble = by_text.values()
    assert (right.generator, babble.generator) == ("fake-model", "other-model")
    assert {j.prompt_id for j in judgements} == {facts.prompts.get().pk}

    assert (right.correctness.verdict, right.correctness.label_count) == ("correct", 3)
    assert right.correctness.agreement == pytest.approx(2 / 3)
    assert right.coherence is None  # not labelled in the coherence campaign yet

    assert (wrong.correctness.verdict, wrong.correctness.confidence) == ("incorrect", "probably")
    assert wrong.correctness.error_categories == {"factual error": 2}
    assert (wrong.coherence.verdict, wrong.coherence.label_count) == ("coherent", 2)  # coherent but wrong

    assert babble.correctness is None
    assert (babble.coherence.verdict, babble.coherence.agreement) == (None, 0.5)
    assert babble.coherence.reasons == {"gibberish": 1}


def test_gold_labels_are_left_out(campaigns, labeller):
    facts, fluency, candidate = campaigns
    facts.gold_rate = 1.0
    facts.save()
    gold = item_set_gold(
        item=Item.objects.get(campaign=facts, slots__candidate=candidate["right"]),
        value={"verdict": "correct", "confidence": "certain"},
    )
    assert lease_next(labeller=labeller, campaign=facts) == gold
    label_submit(
        item_id=gold.pk,
        labeller=labeller,
        value={"verdict": "cant_tell"},
        idempotency_key="g",
        campaign=None,
        lease_next=False,
    )
    assert Label.objects.filter(item=gold).exists()
    assert candidate_judgements(correctness_campaign=facts, coherence_campaign=fluency) == []


def test_campaigns_of_the_wrong_kind_are_refused(campaigns):
    facts, fluency, _ = campaigns
    with pytest.raises(ApplicationError) as raised:
        candidate_judgements(correctness_campaign=fluency, coherence_campaign=fluency)
    assert raised.value.extra == {"field": "correctness_campaign"}
    assert "'fluency' is a coherence campaign" in raised.value.message
    with pytest.raises(ApplicationError) as raised:
        candidate_judgements(correctness_campaign=facts, coherence_campaign=facts)
    assert raised.value.extra == {"field": "coherence_campaign"}
