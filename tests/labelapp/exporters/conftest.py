import json
from pathlib import Path

from django.db.models import F

from labelapp.exporters.options import export_options_parse
from labelapp.models import Item, Label, Prompt
from labelapp.services.exports import dataset_export
from labelapp.services.items import items_build
from tests.factories import candidates_add


def vote(item, labeller, choice, strength=None, rationale="", seconds=12.5) -> Label:
    """A stored label, in canonical order (what label_submit stores after un-shuffling)."""
    label = Label.objects.create(
        item=item,
        labeller=labeller,
        value={"choice": choice, "strength": strength, "rationale": rationale},
        seconds_spent=seconds,
        idempotency_key=f"{item.pk}-{labeller.pk}",
    )
    Item.objects.filter(pk=item.pk).update(label_count=F("label_count") + 1)
    return label


def texts(item) -> tuple[str, str]:
    """The item's candidate texts in canonical order (a, b)."""
    return tuple(slot.candidate.text for slot in item.slots.order_by("index"))


def prompts_with_pairs(campaign, generator, questions, *, chat=False, seed=1) -> list[Item]:
    """One item per question, two answers each; returned in question order."""
    for question in questions:
        fields = {"messages": [{"role": "user", "content": question}]} if chat else {"text": question}
        prompt = Prompt.objects.create(campaign=campaign, **fields)
        candidates_add(prompt, generator, [f"Right answer to {question}", f"Wrong answer to {question}"])
    items_build(campaign=campaign, kind="pairwise", seed=seed)
    return list(Item.objects.filter(campaign=campaign).order_by("prompt_id", "id"))


def export(campaign, format: str, out: Path, **options):
    return dataset_export(campaign=campaign, format=format, out=out, options=export_options_parse(options))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
