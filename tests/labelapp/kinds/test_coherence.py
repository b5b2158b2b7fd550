import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.kinds import coherence
from labelapp.kinds.base import ItemShape
from labelapp.models import Campaign, Candidate, ItemCandidate, Label, Prompt
from labelapp.services.gold import item_set_gold, items_mark_gold
from labelapp.services.items import items_build
from tests.factories import candidates_add

HTMX = {"HTTP_HX_REQUEST": "true"}
SHAPE = ItemShape(candidate_count=1)
REASONS = ["contradiction", "not_an_answer", "wrong_tone", "gibberish", "other"]


@pytest.fixture
def coherence_items(coherence_campaign, correctness_campaign, answered_prompts):
    """The correctness campaign's answers, built into coherence items."""
    items_build(campaign=coherence_campaign, kind="coherence", seed=8, source_campaign=correctness_campaign)
    return list(coherence_campaign.items.order_by("id"))


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ({"verdict": "coherent"}, {"verdict": "coherent", "reasons": [], "note": ""}),
        (
            {"verdict": "INCOHERENT", "reasons": ["gibberish", "contradiction"], "note": " Loops. "},
            {"verdict": "incoherent", "reasons": ["contradiction", "gibberish"], "note": "Loops."},
        ),
        (
            {"verdict": "coherent", "reasons": [], "note": ""},
            {"verdict": "coherent", "reasons": [], "note": ""},
        ),
    ],
)
def test_good_values_are_cleaned(value, cleaned):
    assert coherence.label_validate(value, shape=SHAPE) == cleaned


@pytest.mark.parametrize(
    ("value", "field", "allowed"),
    [
        ({}, "verdict", ["coherent", "incoherent"]),
        ({"verdict": "correct"}, "verdict", ["coherent", "incoherent"]),
        ({"verdict": "incoherent"}, "reasons", REASONS),
        ({"verdict": "incoherent", "reasons": ["boring"]}, "reasons", REASONS),
        ({"verdict": "incoherent", "reasons": "gibberish"}, "reasons", REASONS),
        ({"verdict": "incoherent", "reasons": ["other", "other"]}, "reasons", REASONS),
        ({"verdict": "incoherent", "reasons": [{"x": 1}]}, "reasons", REASONS),
        ({"verdict": "coherent", "reasons": ["wrong_tone"]}, "reasons", []),
        ({"verdict": "coherent", "note": "x" * 5001}, "note", None),
        ({"verdict": "coherent", "confidence": "certain"}, "confidence", ["verdict", "reasons", "note"]),
    ],
)
def test_a_bad_value_names_the_field_and_the_allowed_values(value, field, allowed):
    with pytest.raises(ApplicationError) as raised:
        coherence.label_validate(value, shape=SHAPE)
    assert raised.value.extra["field"] == field and field in raised.value.message
    if allowed is not None:
        assert raised.value.extra["allowed"] == allowed
        assert all(a in raised.value.message for a in allowed)


def label(verdict, *reasons):
    return {"verdict": verdict, "reasons": list(reasons), "note": ""}


def test_aggregate_one_two_and_three_labellers():
    one = coherence.aggregate([label("incoherent", "gibberish")])
    assert one == coherence.CoherenceAggregate(
        verdict="incoherent", agreement=1.0, label_count=1, reasons={"gibberish": 1}
    )
    split = coherence.aggregate([label("coherent"), label("incoherent", "wrong_tone")])
    assert (split.verdict, split.agreement, split.label_count, split.reasons) == (
        None,
        0.5,
        2,
        {"wrong_tone": 1},
    )
    assert coherence.gold_value_from(split) is None
    three = coherence.aggregate(
        [
            label("incoherent", "contradiction", "other"),
            label("coherent"),
            label("incoherent", "contradiction"),
        ]
    )
    assert (three.verdict, three.label_count, three.reasons) == (
        "incoherent",
        3,
        {"contradiction": 2, "other": 1},
    )
    assert three.agreement == pytest.approx(2 / 3)
    assert coherence.gold_value_from(three) == {"verdict": "incoherent"}


def test_both_campaigns_build_items_from_the_same_candidates(
    correctness_campaign, coherence_campaign, answered_prompts
):
    items_build(campaign=correctness_campaign, kind="correctness", seed=1)
    built = items_build(
        campaign=coherence_campaign, kind="coherence", seed=1, source_campaign=correctness_campaign
    )
    assert built.created == 4

    def candidates_of(campaign: Campaign) -> set[int]:
        return set(
            ItemCandidate.objects.filter(item__campaign=campaign).values_list("candidate_id", flat=True)
        )

    assert candidates_of(coherence_campaign) == candidates_of(correctness_campaign)
    assert len(candidates_of(coherence_campaign)) == 4
    assert {item.prompt_id for item in coherence_campaign.items.all()} == {p.pk for p in answered_prompts}
    assert not coherence_campaign.prompts.exists()  # nothing copied

    again = items_build(
        campaign=coherence_campaign, kind="coherence", seed=2, source_campaign=correctness_campaign
    )
    assert (again.created, again.already_built) == (0, 4)
    # Without a source, a coherence campaign builds from its own (here: no) candidates.
    assert items_build(campaign=coherence_campaign, kind="coherence").created == 0


def test_build_items_command_takes_a_source_campaign(
    correctness_campaign, coherence_campaign, answered_prompts
):
    call_command(
        "build_items", campaign="fluency", kind="coherence", source_campaign="facts", max_per_prompt=1, seed=3
    )
    assert coherence_campaign.items.count() == 2
    with pytest.raises(CommandError, match="Campaign 'nowhere' does not exist"):
        call_command("build_items", campaign="fluency", kind="coherence", source_campaign="nowhere")
    with pytest.raises(CommandError, match="is a coherence campaign, not correctness"):
        call_command("build_items", campaign="fluency", kind="correctness", source_campaign="facts")


def test_gold_scoring_and_mark_gold_use_the_verdict(
    coherence_campaign, coherence_items, labeller, other_labeller, label_next
):
    coherence_campaign.gold_rate, coherence_campaign.labels_per_item = 1.0, 1
    coherence_campaign.save()
    gold = item_set_gold(item=coherence_items[0], value={"verdict": "incoherent", "reasons": ["gibberish"]})
    assert gold.gold_value == {"verdict": "incoherent", "reasons": ["gibberish"], "note": ""}
    right = label_next(
        campaign=coherence_campaign,
        labeller=labeller,
        value={"verdict": "incoherent", "reasons": ["contradiction"]},
    )
    wrong = label_next(campaign=coherence_campaign, labeller=other_labeller, value={"verdict": "coherent"})
    assert (right.item_id, wrong.item_id) == (gold.pk, gold.pk)
    assert (right.gold_correct, wrong.gold_correct) == (True, False)

    coherence_campaign.gold_rate = 0.0
    coherence_campaign.save()
    plain = label_next(
        campaign=coherence_campaign, labeller=labeller, value={"verdict": "coherent"}, key="k2"
    )
    marked, unclear = items_mark_gold(items=coherence_campaign.items.filter(pk=plain.item_id))
    plain.item.refresh_from_db()
    assert (marked, unclear, plain.item.gold_value) == (1, [], {"verdict": "coherent"})


def test_the_page_never_shows_the_reference_answer_and_shows_every_key(
    coherence_campaign, coherence_items, labeller, client_for
):
    assert coherence_campaign.show_reference_answer
    html = client_for(labeller).get("/label/fluency/").content.decode()
    assert html.count('class="candidate single"') == 1
    shown_prompt = labeller.leases.get().item.prompt
    assert shown_prompt.reference_answer and shown_prompt.reference_answer not in html
    assert "Reference answer" not in html
    for shown in (
        "<kbd>1</kbd> Coherent",
        "<kbd>2</kbd> Incoherent",
        "<kbd>x 1</kbd> Contradicts itself",
        "<kbd>x 2</kbd> Not an answer to the question",
        "<kbd>x 3</kbd> Wrong tone",
        "<kbd>x 4</kbd> Gibberish",
        "<kbd>x 5</kbd> Other",
        "<kbd>r</kbd> to type",
    ):
        assert shown in html


def test_the_api_never_gives_the_reference_answer(coherence_campaign, coherence_items, labeller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    item = client.post("/api/v1/campaigns/fluency/next-item/").json()["item"]
    assert item["kind"] == "coherence" and item["reference_answer"] is None
    response = client.post(
        f"/api/v1/items/{item['id']}/labels/",
        {"value": {"verdict": "incoherent", "reasons": []}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["extra"] == {
        "field": "reasons",
        "allowed": REASONS,
    }
    assert Label.objects.count() == 0


def test_a_form_posts_several_reasons_and_a_bad_one_is_a_400_inline(
    coherence_campaign, coherence_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/fluency/")
    item = labeller.leases.get().item
    url = f"/label/fluency/items/{item.pk}/"
    bad = client.post(url, {"verdict": "coherent", "reasons": ["gibberish"], "idempotency_key": "k"}, **HTMX)
    html = bad.content.decode()
    assert bad.status_code == 400 and "Field &#x27;reasons&#x27; must be empty with verdict coherent." in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0

    good = client.post(
        url,
        {
            "verdict": "incoherent",
            "reasons": ["wrong_tone", "not_an_answer"],
            "note": "",
            "idempotency_key": "k",
        },
        **HTMX,
    )
    assert good.status_code == 200
    assert Label.objects.get().value == {
        "verdict": "incoherent",
        "reasons": ["not_an_answer", "wrong_tone"],
        "note": "",
    }


def test_identical_answers_are_each_judged(coherence_campaign, generator):
    prompt = Prompt.objects.create(campaign=coherence_campaign, text="Say hi.")
    candidates_add(prompt, generator, ["Hi.", "Hi."])
    built = items_build(campaign=coherence_campaign, kind="coherence")
    assert (built.created, built.skipped_identical) == (2, 0)


def test_staff_build_coherence_items_of_another_campaigns_answers_from_the_manage_page(
    coherence_campaign, correctness_campaign, answered_prompts, staff, client_for
):
    client = client_for(staff)
    page = client.get("/manage/fluency/").content.decode()
    assert (
        '<select name="source_campaign"><option value="">this campaign</option><option>facts</option>' in page
    )

    page = client.post("/manage/fluency/build/", {"source_campaign": "facts"}, follow=True).content.decode()

    judged = set(
        ItemCandidate.objects.filter(item__campaign=coherence_campaign).values_list("candidate", flat=True)
    )
    sources = set(
        Candidate.objects.filter(prompt__campaign=correctness_campaign).values_list("pk", flat=True)
    )
    assert (
        "Built 4 items" in page and len(judged) == coherence_campaign.items.count() == 4 and judged <= sources
    )
    assert "Its items judge the answers of facts." in page
    page = client.post("/manage/fluency/build/", {"source_campaign": "nowhere"}, follow=True).content.decode()
    assert "nowhere" in page and coherence_campaign.items.count() == 4
