import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.kinds import correctness
from labelapp.kinds.base import BuildOptions, ItemShape
from labelapp.models import CandidateStep, ItemCandidate, Label, Lease
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.services.gold import item_set_gold, items_mark_gold
from labelapp.services.items import items_build
from labelapp.services.leases import lease_next

HTMX = {"HTTP_HX_REQUEST": "true"}
SHAPE = ItemShape(candidate_count=1)


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        (
            {"verdict": "correct", "confidence": "certain"},
            {"verdict": "correct", "confidence": "certain", "error_category": None, "critique": ""},
        ),
        (
            {
                "verdict": "Incorrect",
                "confidence": "guessing",
                "error_category": "reasoning error",
                "critique": "  The second step divides by zero.  ",
            },
            {
                "verdict": "incorrect",
                "confidence": "guessing",
                "error_category": "reasoning error",
                "critique": "The second step divides by zero.",
            },
        ),
        (
            # The form posts every field, the empty ones as "".
            {"verdict": "cant_tell", "confidence": "", "error_category": "off-topic", "critique": ""},
            {"verdict": "cant_tell", "confidence": None, "error_category": "off-topic", "critique": ""},
        ),
    ],
)
def test_good_values_are_cleaned(value, cleaned):
    assert correctness.label_validate(value, shape=SHAPE) == cleaned


@pytest.mark.parametrize(
    ("value", "field", "allowed"),
    [
        ({}, "verdict", ["correct", "incorrect", "cant_tell"]),
        ({"verdict": "maybe", "confidence": "certain"}, "verdict", ["correct", "incorrect", "cant_tell"]),
        ({"verdict": "correct"}, "confidence", ["certain", "probably", "guessing"]),
        ({"verdict": "incorrect", "confidence": "90%"}, "confidence", ["certain", "probably", "guessing"]),
        ({"verdict": "cant_tell", "confidence": "certain"}, "confidence", []),
        (
            {"verdict": "incorrect", "confidence": "certain", "error_category": "typo"},
            "error_category",
            list(correctness.DEFAULT_ERROR_CATEGORIES),
        ),
        (
            {"verdict": "correct", "confidence": "certain", "error_category": "incomplete"},
            "error_category",
            [],
        ),
        ({"verdict": "correct", "confidence": "certain", "mood": "happy"}, "mood", list(correctness.FIELDS)),
        ({"verdict": "correct", "confidence": "certain", "critique": "x" * 5001}, "critique", None),
        ({"verdict": "correct", "confidence": "certain", "critique": 3.5}, "critique", None),
        ({"verdict": "correct", "confidence": "certain", "critique": {"a": 1}}, "critique", None),
        ({"verdict": "correct", "confidence": "certain", "critique": "a\ud800b"}, "critique", None),
        ({"verdict": "correct", "confidence": "certain", "critique": "a\x00b"}, "critique", None),
        (["correct"], "value", None),
    ],
)
def test_a_bad_value_names_the_field_and_the_allowed_values(value, field, allowed):
    with pytest.raises(ApplicationError) as raised:
        correctness.label_validate(value, shape=SHAPE)
    assert raised.value.extra["field"] == field and field in raised.value.message
    if allowed is not None:
        assert raised.value.extra["allowed"] == allowed
        assert all(str(a) in raised.value.message for a in allowed)


def test_a_campaign_list_of_error_categories_replaces_the_defaults():
    shape = ItemShape(candidate_count=1, error_categories=("wrong unit", "wrong number"))
    value = {"verdict": "incorrect", "confidence": "probably", "error_category": "wrong unit"}
    assert correctness.label_validate(value, shape=shape)["error_category"] == "wrong unit"
    with pytest.raises(ApplicationError) as raised:
        correctness.label_validate(value | {"error_category": "factual error"}, shape=shape)
    assert raised.value.extra == {"field": "error_category", "allowed": ["wrong unit", "wrong number"]}


def label(verdict, confidence=None, category=None):
    return {"verdict": verdict, "confidence": confidence, "error_category": category, "critique": ""}


def test_aggregate_one_labeller():
    result = correctness.aggregate([label("incorrect", "certain", "factual error")])
    assert result == correctness.CorrectnessAggregate(
        verdict="incorrect",
        confidence="certain",
        agreement=1.0,
        label_count=1,
        error_categories={"factual error": 1},
    )
    assert correctness.gold_value_from(result) == {"verdict": "incorrect"}


def test_aggregate_two_labellers_who_disagree_has_no_verdict():
    result = correctness.aggregate(
        [label("correct", "certain"), label("incorrect", "probably", "incomplete")]
    )
    assert (result.verdict, result.confidence, result.agreement, result.label_count) == (None, None, 0.5, 2)
    assert result.error_categories == {"incomplete": 1}
    assert correctness.gold_value_from(result) is None


def test_aggregate_three_labellers_takes_the_majority_and_its_confidence():
    result = correctness.aggregate(
        [
            label("incorrect", "probably", "factual error"),
            label("correct", "certain"),
            label("incorrect", "probably", "reasoning error"),
        ]
    )
    assert (result.verdict, result.confidence, result.label_count) == ("incorrect", "probably", 3)
    assert result.agreement == pytest.approx(2 / 3)
    assert result.error_categories == {"factual error": 1, "reasoning error": 1}
    # Can't tell carries no confidence; two of three are enough for the verdict.
    unsure = correctness.aggregate([label("cant_tell"), label("cant_tell"), label("correct", "guessing")])
    assert (unsure.verdict, unsure.confidence) == ("cant_tell", None)


def test_items_hold_each_answer_alone_critiques_left_out(correctness_campaign, answered_prompts):
    built = items_build(campaign=correctness_campaign, kind="correctness", seed=1)
    slots = ItemCandidate.objects.filter(item__campaign=correctness_campaign).select_related("candidate")
    assert built.created == 4 and slots.count() == 4
    assert {(s.index, s.position) for s in slots} == {(0, 0)}  # one candidate, shown at the only position
    assert {s.candidate.text for s in slots} == {"It is 4.", "It is 5.", "Lyon.", "Paris."}
    assert not slots.filter(candidate__step=CandidateStep.CRITIQUE).exists()
    assert all(item.prompt.campaign == correctness_campaign for item in correctness_campaign.items.all())

    again = items_build(campaign=correctness_campaign, kind="correctness", seed=2)
    assert (again.created, again.already_built) == (0, 4)


def test_items_honour_max_per_prompt_and_generators_and_refuse_two_per_item(
    correctness_campaign, answered_prompts
):
    built = items_build(
        campaign=correctness_campaign, kind="correctness", options=BuildOptions(max_per_prompt=1), seed=3
    )
    assert built.created == 2 and correctness_campaign.items.filter(prompt=answered_prompts[0]).count() == 1
    with pytest.raises(ApplicationError) as raised:
        items_build(campaign=correctness_campaign, kind="correctness", options=BuildOptions(per_item=2))
    assert raised.value.extra["field"] == "per_item" and raised.value.extra["allowed"] == [1]
    with pytest.raises(ApplicationError, match="Unknown generator"):
        items_build(
            campaign=correctness_campaign, kind="correctness", options=BuildOptions(generators=("nope",))
        )


def test_a_label_is_stored_as_given(correctness_campaign, correctness_items, labeller, label_next):
    stored = label_next(
        campaign=correctness_campaign,
        labeller=labeller,
        value={"verdict": "incorrect", "confidence": "probably", "error_category": "incomplete"},
    )
    assert Label.objects.get(pk=stored.pk).value == {
        "verdict": "incorrect",
        "confidence": "probably",
        "error_category": "incomplete",
        "critique": "",
    }


def test_gold_items_are_scored_on_the_verdict(
    correctness_campaign, correctness_items, labeller, other_labeller, label_next
):
    correctness_campaign.gold_rate, correctness_campaign.labels_per_item = 1.0, 1
    correctness_campaign.save()
    gold = item_set_gold(item=correctness_items[0], value={"verdict": "incorrect", "confidence": "certain"})
    assert gold.gold_value == {
        "verdict": "incorrect",
        "confidence": "certain",
        "error_category": None,
        "critique": "",
    }

    right = label_next(
        campaign=correctness_campaign,
        labeller=labeller,
        value={"verdict": "incorrect", "confidence": "guessing", "error_category": "other"},
    )
    wrong = label_next(campaign=correctness_campaign, labeller=other_labeller, value={"verdict": "cant_tell"})
    assert (right.item_id, wrong.item_id) == (gold.pk, gold.pk)
    assert (right.gold_correct, wrong.gold_correct) == (True, False)


def test_mark_gold_takes_the_consensus_verdict(
    correctness_campaign, correctness_items, labeller, other_labeller, label_next
):
    for user in (labeller, other_labeller):
        label_next(
            campaign=correctness_campaign,
            labeller=user,
            value={"verdict": "correct", "confidence": "certain"},
        )
    item = Label.objects.first().item
    marked, unclear = items_mark_gold(items=correctness_campaign.items.filter(pk=item.pk))
    item.refresh_from_db()
    assert (marked, unclear, item.is_gold, item.gold_value) == (1, [], True, {"verdict": "correct"})


def test_the_dashboard_measures_agreement_on_verdict_and_confidence(
    correctness_campaign, correctness_items, labeller, other_labeller, label_next
):
    for user, confidence in ((labeller, "certain"), (other_labeller, "probably")):
        label_next(
            campaign=correctness_campaign,
            labeller=user,
            value={"verdict": "correct", "confidence": confidence},
        )
    dashboard = campaign_dashboard(campaign=correctness_campaign)
    assert [(a.field, a.level) for a in dashboard.agreements] == [
        ("verdict", "nominal"),
        ("confidence", "ordinal"),
    ]
    assert dashboard.labellers[0].majority_agreement == 1.0  # both said correct


def test_the_page_shows_the_answer_the_reference_and_every_key(
    correctness_campaign, correctness_items, labeller, client_for
):
    html = client_for(labeller).get("/label/facts/").content.decode()
    assert html.count('class="candidate single"') == 1
    assert "Reference answer" in html and labeller.leases.get().item.prompt.reference_answer in html
    for shown in (
        "<kbd>1</kbd> Correct",
        "<kbd>2</kbd> Incorrect",
        "<kbd>3</kbd> Can't tell",
        "<kbd>q</kbd> Certain",
        "<kbd>w</kbd> Probably",
        "<kbd>e</kbd> Guessing",
        "<kbd>x 1</kbd> Factual error",
        "<kbd>x 5</kbd> Other",
        "<kbd>r</kbd> to type",
    ):
        assert shown in html

    correctness_campaign.show_reference_answer = False
    correctness_campaign.error_categories = ["wrong unit"]
    correctness_campaign.save()
    html = client_for(labeller).get("/label/facts/").content.decode()
    assert "Reference answer" not in html
    assert "<kbd>x 1</kbd> Wrong unit" in html and "Factual error" not in html


def test_a_bad_form_value_is_a_400_shown_inline_with_nothing_saved(
    correctness_campaign, correctness_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/facts/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/facts/items/{item.pk}/",
        {
            "verdict": "correct",
            "confidence": "",
            "error_category": "",
            "critique": "",
            "idempotency_key": "k",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html
    assert "Field &#x27;confidence&#x27; must be one of certain, probably, guessing." in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0

    response = client.post(
        f"/label/facts/items/{item.pk}/",
        {"verdict": "correct", "confidence": "certain", "critique": "Right.", "idempotency_key": "k"},
        **HTMX,
    )
    assert response.status_code == 200 and Label.objects.get().value["critique"] == "Right."


def test_the_api_shows_the_reference_and_refuses_a_bad_value(
    correctness_campaign, correctness_items, labeller
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    item = client.post("/api/v1/campaigns/facts/next-item/").json()["item"]
    assert item["kind"] == "correctness" and [c["position"] for c in item["candidates"]] == ["A"]
    assert item["reference_answer"] in {"Four, exactly.", "The capital is Paris."}
    response = client.post(
        f"/api/v1/items/{item['id']}/labels/",
        {
            "value": {"verdict": "incorrect", "confidence": "certain", "error_category": "typo"},
            "idempotency_key": "k",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {
        "field": "error_category",
        "allowed": list(correctness.DEFAULT_ERROR_CATEGORIES),
    }
    assert Label.objects.count() == 0 and Lease.objects.filter(item_id=item["id"]).exists()
    assert lease_next(labeller=labeller, campaign=correctness_campaign).pk == item["id"]


def test_a_critique_that_is_not_valid_utf8_is_a_400_through_the_api_and_nothing_is_stored(
    correctness_campaign, correctness_items, labeller
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    item = client.post("/api/v1/campaigns/facts/next-item/").json()["item"]
    body = '{"value": {"verdict": "incorrect", "confidence": "certain", "critique": "a\\ud800b"}, "idempotency_key": "k"}'
    for _ in range(2):  # a retry with the same key is refused the same way
        response = client.post(f"/api/v1/items/{item['id']}/labels/", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {
            "message": "Field 'value.critique' holds a lone surrogate (\\ud800), which is not valid UTF-8.",
            "extra": {"field": "value.critique"},
        }
    assert Label.objects.count() == 0 and Lease.objects.filter(item_id=item["id"]).exists()
