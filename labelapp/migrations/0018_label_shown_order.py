# Shown positions are drawn per (item, labeller) and kept with each label (Label.shown_order). Labels given
# before were given in their item's one shown order (ItemCandidate.position): they are backfilled with it.

from django.db import migrations, models

BATCH = 2000


def shown_order_backfill(apps, schema_editor) -> None:
    Label = apps.get_model("labelapp", "Label")
    ItemCandidate = apps.get_model("labelapp", "ItemCandidate")
    pending = Label.objects.filter(shown_order__isnull=True).order_by("id")
    last_id = 0
    while True:
        labels = list(pending.filter(id__gt=last_id).only("id", "item_id")[:BATCH])
        if not labels:
            return
        orders: dict[int, list[int]] = {}
        slots = ItemCandidate.objects.filter(item_id__in={label.item_id for label in labels})
        for item_id, index in slots.order_by("item_id", "position").values_list("item_id", "index"):
            orders.setdefault(item_id, []).append(index)
        for label in labels:
            label.shown_order = orders.get(label.item_id, [])
        Label.objects.bulk_update(labels, ["shown_order"])
        last_id = labels[-1].id


class Migration(migrations.Migration):

    dependencies = [
        ('labelapp', '0017_judge_both_orders'),
    ]

    operations = [
        migrations.AddField(
            model_name='label',
            name='shown_order',
            field=models.JSONField(blank=True, help_text='The canonical index of the candidate shown to this labeller at each position, in shown order; null for a label not given through the labelling page or API.', null=True),
        ),
        migrations.RunPython(shown_order_backfill, migrations.RunPython.noop),
    ]
