import pytest

from labelapp.errors import ApplicationError
from labelapp.kinds import pairwise
from labelapp.kinds.base import ItemShape
from labelapp.models import Label
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import item_shown_indices

PLAIN = ItemShape(candidate_count=2)
HHH = ItemShape(candidate_count=2, criteria=("helpfulness", "honesty", "harmlessness"))


def test_a_good_value_is_cleaned():
    assert pairwise.label_validate(
        {"choice": "A", "strength": "clear", "rationale": " ok "}, shape=PLAIN
    ) == {
        "choice": "a",
        "strength": "clear",
        "rationale": "ok",
    }


@pytest.mark.parametrize(
    ("value", "field", "allowed"),
    [
        ({"choice": "c"}, "choice", ["a", "b", "tie", "both_bad"]),
        ({"choice": "tie", "strength": "clear"}, "strength", []),
        ({"choice": "a", "strength": "huge"}, "strength", ["slight", "clear", "strong"]),
        ({"choice": "a", "mood": "x"}, "mood", ["choice", "strength", "rationale", "criteria", "confidence"]),
        ({"choice": "a", "confidence": "sure"}, "confidence", ["certain", "probably", "guessing"]),
        ({"choice": "a", "rationale": "x" * 5001}, "rationale", None),
        ({"choice": "a", "rationale": 7}, "rationale", None),  # never stored as "7"
        ({"choice": "a", "rationale": ["because"]}, "rationale", None),
        ({"choice": "a", "rationale": "a\ud800b"}, "rationale", None),
        ({"choice": "a", "rationale": "a\x00b"}, "rationale", None),
        ({"choice": "a", "criteria": {"helpfulness": "a"}}, "criteria", []),  # never dropped silently
    ],
)
def test_a_bad_value_names_the_field_and_the_allowed_values(value, field, allowed):
    with pytest.raises(ApplicationError) as raised:
        pairwise.label_validate(value, shape=PLAIN)
    assert raised.value.extra["field"] == field and field in raised.value.message
    assert raised.value.extra.get("allowed") == allowed


@pytest.mark.parametrize("empty", [{}, None])
def test_no_criteria_are_fine_when_the_campaign_lists_none(empty):
    value = {"choice": "b", "rationale": None, "criteria": empty}
    assert pairwise.label_validate(value, shape=PLAIN) == {"choice": "b", "strength": None, "rationale": ""}


def test_criteria_are_required_one_by_one_when_the_campaign_lists_them():
    good = {"choice": "a", "criteria": {"helpfulness": "a", "honesty": "tie", "harmlessness": "b"}}
    assert pairwise.label_validate(good, shape=HHH)["criteria"] == good["criteria"]
    with pytest.raises(ApplicationError, match="'criteria' must give a choice for each of helpfulness"):
        pairwise.label_validate({"choice": "a", "criteria": {"helpfulness": "a"}}, shape=HHH)
    with pytest.raises(ApplicationError, match=r"'criteria.honesty' must be one of a, b, tie") as raised:
        pairwise.label_validate(
            {"choice": "a", "criteria": {"helpfulness": "a", "honesty": "both_bad", "harmlessness": "b"}},
            shape=HHH,
        )
    assert raised.value.extra == {"field": "criteria.honesty", "allowed": ["a", "b", "tie"]}


def test_criteria_are_stored_unshuffled_like_the_overall_choice():
    value = {
        "choice": "a",
        "strength": None,
        "rationale": "",
        "criteria": {"honesty": "b", "harmlessness": "tie"},
    }
    assert pairwise.label_to_canonical(value, [1, 0]) == {
        "choice": "b",
        "strength": None,
        "rationale": "",
        "criteria": {"honesty": "a", "harmlessness": "tie"},
    }


def test_the_form_posts_criteria_as_one_field_each():
    form = {"choice": "b", "strength": "", "rationale": "", "criterion-honesty": "a", "idempotency_key": "k"}
    assert pairwise.value_from_form(form) == {
        "choice": "b",
        "strength": "",
        "rationale": "",
        "confidence": "",
        "criteria": {"honesty": "a"},
    }


@pytest.mark.parametrize("choice", ["a", "tie", "both_bad"])
def test_a_stated_confidence_is_kept_with_any_choice_and_left_out_when_not_stated(choice):
    stated = pairwise.label_validate({"choice": choice, "confidence": "guessing"}, shape=PLAIN)
    assert stated["confidence"] == "guessing"
    assert pairwise.label_to_canonical(stated, [1, 0])["confidence"] == "guessing"
    assert "confidence" not in pairwise.label_validate({"choice": choice, "confidence": ""}, shape=PLAIN)


def test_the_page_asks_for_confidence_by_keyboard_and_stores_it(
    campaign, pairwise_items, labeller, client_for
):
    client = client_for(labeller)
    html = client.get("/label/prefs/").content.decode()
    for key, level in (("f q", "certain"), ("f w", "probably"), ("f e", "guessing")):
        assert f'name="confidence" value="{level}" data-key="{key}"' in html
    item = labeller.leases.get().item
    client.post(
        f"/label/prefs/items/{item.pk}/", {"choice": "a", "confidence": "probably", "idempotency_key": "k"}
    )
    assert Label.objects.get(item=item).value["confidence"] == "probably"


def _values(*choices, criteria=None):
    return [
        {"choice": c, "strength": "clear" if c in "ab" else None, "criteria": criteria or {}} for c in choices
    ]


@pytest.mark.parametrize(
    ("choices", "expected", "agreement"),
    [
        (("a",), "a", 1.0),  # one labeller
        (("a", "a"), "a", 1.0),  # two who agree
        (("a", "b"), None, 0.5),  # two who disagree: no majority
        (("b", "a", "b"), "b", 2 / 3),  # three with a dissenter
        (("a", "b", "tie"), None, 1 / 3),  # three-way split
    ],
)
def test_aggregate_with_one_two_and_three_labellers(choices, expected, agreement):
    result = pairwise.aggregate(_values(*choices))
    assert (result.choice, result.label_count) == (expected, len(choices))
    assert result.agreement == pytest.approx(agreement)
    assert result.strength == ("clear" if expected else None)


def test_aggregate_takes_the_majority_per_criterion():
    values = [
        {"choice": "a", "criteria": {"honesty": "a", "harmlessness": "tie"}},
        {"choice": "a", "criteria": {"honesty": "a", "harmlessness": "b"}},
        {"choice": "b", "criteria": {"honesty": "b", "harmlessness": "b"}},
    ]
    assert pairwise.aggregate(values).criteria == {"harmlessness": "b", "honesty": "a"}


def test_gold_is_scored_on_the_overall_choice():
    assert pairwise.gold_matches({"choice": "a"}, {"choice": "a", "strength": "strong"})
    assert not pairwise.gold_matches({"choice": "tie"}, {"choice": "a"})
    assert not pairwise.gold_matches({"choice": "a"}, None)
    assert pairwise.gold_value_from(pairwise.aggregate(_values("b", "b"))) == {"choice": "b"}
    assert pairwise.gold_value_from(pairwise.aggregate(_values("a", "b"))) is None


def test_a_criteria_campaign_stores_each_criterion_in_canonical_order(campaign, pairwise_items, labeller):
    campaign.criteria = ["helpfulness", "honesty"]
    campaign.save()
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError, match="criteria"):
        label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "a"},
            idempotency_key="k0",
            campaign=None,
            lease_next=False,
        )
    assert not Label.objects.exists()
    label = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "a", "criteria": {"helpfulness": "a", "honesty": "b"}},
        idempotency_key="k1",
        campaign=None,
        lease_next=False,
    ).label
    shown_first = "ab"[item_shown_indices(item=item, labeller=labeller)[0]]
    other = "b" if shown_first == "a" else "a"
    assert label.value["criteria"] == {"helpfulness": shown_first, "honesty": other}
