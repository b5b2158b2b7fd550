# Continuing conversations (labelapp/services/continuations.py): a pairwise campaign's continue_turns and
# user simulator, a prompt's link to the item it continues with its conversation and turn, generation jobs
# limited to one prompt, and the continuation job. Existing prompts are turn 1 of their own conversation.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labelapp', '0011_imports_source_labels'),
    ]

    operations = [
        migrations.CreateModel(
            name='Continuation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('partial', 'Completed with failures'), ('failed', 'Failed')], default='queued', max_length=16)),
                ('progress_done', models.PositiveIntegerField(default=0)),
                ('progress_total', models.PositiveIntegerField(default=0, help_text='0 while not known yet.')),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('stopped', models.CharField(blank=True, choices=[('split', 'the labellers split evenly'), ('tie', 'the labellers judged the replies a tie'), ('both_bad', 'the labellers judged both replies bad'), ('no_message', 'no labeller wrote the next message and the campaign has no user simulator'), ('simulator_silent', 'the user simulator wrote an empty message'), ('identical_answers', 'the generators gave the next message two identical answers'), ('imported_reply', 'a compared reply was imported from a file: no model can answer on')], help_text='Why the conversation ends here.', max_length=32)),
                ('message_source', models.CharField(blank=True, choices=[('labeller', 'a labeller'), ('user-simulator', 'the user simulator')], max_length=16)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='campaign',
            name='continue_turns',
            field=models.PositiveSmallIntegerField(default=0, help_text="Pairwise: once an item's labels are in, continue the conversation from the preferred reply for up to this many more turns (0: off). See the README's 'Continuing conversations'."),
        ),
        migrations.AddField(
            model_name='campaign',
            name='user_simulator',
            field=models.ForeignKey(blank=True, help_text="Continuations: writes the user's next message where no labeller did; without one such a conversation stops there.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labelapp.generator'),
        ),
        migrations.AddField(
            model_name='generationjob',
            name='prompt',
            field=models.ForeignKey(blank=True, help_text="Only this prompt (a conversation's next turn); empty: the campaign's prompts.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='labelapp.prompt'),
        ),
        migrations.AddField(
            model_name='prompt',
            name='continues',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='continued_by', to='labelapp.item'),
        ),
        migrations.AddField(
            model_name='prompt',
            name='conversation_start',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='labelapp.prompt'),
        ),
        migrations.AddField(
            model_name='prompt',
            name='turn',
            field=models.PositiveSmallIntegerField(db_default=1, default=1),
        ),
        migrations.AddConstraint(
            model_name='campaign',
            constraint=models.CheckConstraint(condition=models.Q(('continue_turns', 0), ('kind', 'pairwise'), _connector='OR'), name='campaign_continues_only_pairwise', violation_error_message='Only a pairwise campaign can continue conversations.'),
        ),
        migrations.AddField(
            model_name='continuation',
            name='campaign',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='continuations', to='labelapp.campaign'),
        ),
        migrations.AddField(
            model_name='continuation',
            name='item',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='continuation', to='labelapp.item'),
        ),
        migrations.AddField(
            model_name='continuation',
            name='message_label',
            field=models.ForeignKey(blank=True, help_text='The label whose next message the conversation goes on with.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='labelapp.label'),
        ),
    ]
