# Adaptive overlap (labelapp/services/overlap.py): a campaign's min_labels, agreement_to_stop and
# judge_prelabel; an item's labels_wanted, which the queue's index now leaves out once reached. Existing
# items ask for their campaign's labels_per_item, as before.

import django.core.validators
from django.db import migrations, models


def items_want_labels_per_item(apps, schema_editor):
    Campaign = apps.get_model("labelapp", "Campaign")
    Item = apps.get_model("labelapp", "Item")
    Item.objects.update(
        labels_wanted=models.Subquery(
            Campaign.objects.filter(pk=models.OuterRef("campaign_id")).values("labels_per_item")[:1]
        )
    )


class Migration(migrations.Migration):

    dependencies = [
        ('labelapp', '0012_continuations'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='item',
            name='item_assignment_order',
        ),
        migrations.AddField(
            model_name='campaign',
            name='agreement_to_stop',
            field=models.FloatField(default=1.0, help_text='Adaptive overlap: an item stops once this share of its labels agrees with the majority.', validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)]),
        ),
        migrations.AddField(
            model_name='campaign',
            name='judge_prelabel',
            field=models.BooleanField(default=False, help_text='Items an AI judge has a verdict on first ask for one human label; more when the humans disagree with the judge.'),
        ),
        migrations.AddField(
            model_name='campaign',
            name='min_labels',
            field=models.PositiveSmallIntegerField(blank=True, help_text="Adaptive overlap: labels every item gets before it may stop (empty: every item gets labels_per_item). See the README's 'Adaptive overlap'.", null=True, validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AddField(
            model_name='item',
            name='labels_wanted',
            field=models.PositiveSmallIntegerField(default=32767, editable=False),
        ),
        migrations.RunPython(items_want_labels_per_item, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='campaign',
            name='labels_per_item',
            field=models.PositiveSmallIntegerField(default=2, help_text='The most labels an item gets; with min_labels, items stop earlier when their labels agree.', validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('label_count__lt', models.F('labels_wanted'))), fields=['campaign', 'is_gold', '-label_count', '-priority', 'order_key', 'labels_wanted'], name='item_assignment_order'),
        ),
        migrations.AddConstraint(
            model_name='campaign',
            constraint=models.CheckConstraint(condition=models.Q(('min_labels__isnull', True), models.Q(('min_labels__gte', 1), ('min_labels__lte', models.F('labels_per_item'))), _connector='OR'), name='campaign_min_labels_within_k', violation_error_message="Field 'min_labels' must be from 1 to labels_per_item (the most labels an item gets)."),
        ),
    ]
