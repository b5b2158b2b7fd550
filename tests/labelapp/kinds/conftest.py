import pytest

from labelapp.models import Campaign, CandidateStep, Prompt
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add


@pytest.fixture
def correctness_campaign(db) -> Campaign:
    return Campaign.objects.create(
        name="facts", kind="correctness", labels_per_item=2, show_reference_answer=True, instructions="Check."
    )


@pytest.fixture
def coherence_campaign(db) -> Campaign:
    # The flag is set on purpose: a coherence campaign never shows the reference answer anyway.
    return Campaign.objects.create(
        name="fluency", kind="coherence", labels_per_item=2, show_reference_answer=True
    )


@pytest.fixture
def answered_prompts(correctness_campaign, generator) -> list[Prompt]:
    """Two prompts with reference answers; the first has two answers, the second one answer, a critique
    of it and a revision."""
    first = Prompt.objects.create(
        campaign=correctness_campaign, text="What is 2 + 2?", reference_answer="Four, exactly."
    )
    candidates_add(first, generator, ["It is 4.", "It is 5."])
    second = Prompt.objects.create(
        campaign=correctness_campaign, text="Capital of France?", reference_answer="The capital is Paris."
    )
    (answer,) = candidates_add(second, generator, ["Lyon."])
    critique = second.candidates.create(
        generator=generator, text="Wrong city.", step=CandidateStep.CRITIQUE, parent=answer
    )
    second.candidates.create(generator=generator, text="Paris.", step=CandidateStep.REVISION, parent=critique)
    return [first, second]


@pytest.fixture
def correctness_items(correctness_campaign, answered_prompts):
    items_build(campaign=correctness_campaign, kind="correctness", seed=5)
    return list(correctness_campaign.items.order_by("id"))


@pytest.fixture
def label_next():
    """Lease the labeller's next item of the campaign and label it with `value`."""

    def label(*, campaign, labeller, value, key="k"):
        item = lease_next(labeller=labeller, campaign=campaign)
        return label_submit(
            item_id=item.pk,
            labeller=labeller,
            value=value,
            idempotency_key=key,
            campaign=None,
            lease_next=False,
        ).label

    return label
