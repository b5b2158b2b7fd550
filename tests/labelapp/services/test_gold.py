import json

import pytest

from labelapp.errors import ApplicationError
from labelapp.models import Item, Label
from labelapp.services.gold import gold_import, items_mark_gold
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import item_shown_indices


def _jsonl(*records) -> bytes:
    return b"\n".join(
        r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode() for r in records
    )


def test_importing_known_answers_marks_items_gold_in_canonical_order(campaign, pairwise_items):
    first, second, _ = pairwise_items
    content = _jsonl(
        {"item": first.pk, "value": {"choice": "a"}}, "", {"item": second.pk, "value": {"choice": "tie"}}
    )
    assert gold_import(campaign=campaign, file_name="gold.jsonl", content=content) == 2
    first.refresh_from_db()
    assert first.is_gold and first.gold_value == {"choice": "a", "strength": None, "rationale": ""}
    assert Item.objects.filter(is_gold=True).count() == 2


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", r"gold.jsonl, line 2: not valid JSON"),
        (
            {"item": 999999, "value": {"choice": "a"}},
            r"gold.jsonl, line 2, field 'item': campaign 'prefs' has no item 999999",
        ),
        (
            {"item": "ITEM", "value": {"choice": "maybe"}},
            r"gold.jsonl, line 2, field 'value': Field 'choice' must be one of",
        ),
        (
            {"item": "ITEM"},
            r"gold.jsonl, line 2: each line must be an object with exactly 'item' and 'value'",
        ),
        (
            {"item": "ITEM", "value": {"choice": "a", "rationale": "a\ud800b"}},
            r"gold.jsonl, line 2, field 'value.rationale': holds a lone surrogate",
        ),
        (
            {"item": "ITEM", "value": {"choice": "a", "rationale": "a\x00b"}},
            r"gold.jsonl, line 2, field 'value.rationale': holds a NUL character",
        ),
        (
            '{"item": 1, "value": ' + "[" * 1000 + "]" * 1000 + "}",
            r"gold.jsonl, line 2: the line is nested deeper",
        ),
        (
            b'{"item": 1, "value": {"rationale": "caf\xe9"}}',
            r"gold.jsonl, line 2: not UTF-8 text \(byte 39 of the line",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_marked(campaign, pairwise_items, bad_line, message):
    first, second, _ = pairwise_items
    if isinstance(bad_line, dict) and bad_line.get("item") == "ITEM":
        bad_line = {**bad_line, "item": second.pk}
    content = _jsonl({"item": first.pk, "value": {"choice": "a"}}, bad_line)
    with pytest.raises(ApplicationError, match=message):
        gold_import(campaign=campaign, file_name="gold.jsonl", content=content)
    assert not Item.objects.filter(is_gold=True).exists()


def test_gold_scoring_uses_the_canonical_answer_whatever_the_shown_order(campaign, pairwise_items, labeller):
    campaign.gold_rate = 1.0
    campaign.save()
    content = _jsonl(*({"item": item.pk, "value": {"choice": "a"}} for item in pairwise_items))
    gold_import(campaign=campaign, file_name="gold.jsonl", content=content)
    scored = []
    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        # the position showing canonical "a"
        shown_a = "a" if item_shown_indices(item=item, labeller=labeller)[0] == 0 else "b"
        right = item.pk != pairwise_items[0].pk
        label = label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": shown_a if right else ("b" if shown_a == "a" else "a")},
            idempotency_key=str(item.pk),
            campaign=None,
            lease_next=False,
        ).label
        scored.append((item.pk, label.gold_correct))
    assert sorted(scored) == sorted((item.pk, item.pk != pairwise_items[0].pk) for item in pairwise_items)


def test_marking_gold_from_labels_takes_the_consensus_and_leaves_splits(
    campaign, pairwise_items, labeller, other_labeller
):
    agreed, split, _ = pairwise_items
    for item, (one, two) in ((agreed, ("b", "b")), (split, ("a", "b"))):
        for who, choice in ((labeller, one), (other_labeller, two)):
            Label.objects.create(
                item=item, labeller=who, value={"choice": choice}, idempotency_key=f"{item.pk}{who.pk}"
            )
    marked, unclear = items_mark_gold(items=Item.objects.filter(pk__in=[agreed.pk, split.pk]))
    assert (marked, unclear) == (1, [split.pk])
    agreed.refresh_from_db()
    assert agreed.gold_value == {"choice": "b"}
