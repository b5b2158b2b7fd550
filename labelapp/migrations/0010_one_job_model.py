# The one job model (labelapp/models/jobs.py): generation jobs and exports share status, progress, error and
# timestamps with the new judge and embedding jobs. Existing rows keep their ids and values: counters are
# renamed, and a succeeded export's row count becomes its total as well.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F

STATUS = models.CharField(
    choices=[
        ("queued", "Queued"),
        ("running", "Running"),
        ("succeeded", "Succeeded"),
        ("partial", "Completed with failures"),
        ("failed", "Failed"),
    ],
    default="queued",
    max_length=16,
)
PROGRESS_TOTAL = models.PositiveIntegerField(default=0, help_text="0 while not known yet.")


def succeeded_exports_are_complete(apps, schema_editor):
    apps.get_model("labelapp", "Export").objects.filter(status="succeeded").update(
        progress_total=F("progress_done")
    )


def job_fields():
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("status", STATUS.clone()),
        ("progress_done", models.PositiveIntegerField(default=0)),
        ("progress_total", PROGRESS_TOTAL.clone()),
        ("error", models.TextField(blank=True)),
        ("created_at", models.DateTimeField(auto_now_add=True)),
        ("started_at", models.DateTimeField(blank=True, null=True)),
        ("finished_at", models.DateTimeField(blank=True, null=True)),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("labelapp", "0009_generator_concurrency_job_prompt_failures"),
    ]

    operations = [
        migrations.RenameField(model_name="export", old_name="rows", new_name="progress_done"),
        migrations.AddField(model_name="export", name="progress_total", field=PROGRESS_TOTAL.clone()),
        migrations.AlterField(model_name="export", name="status", field=STATUS.clone()),
        migrations.RenameField(model_name="generationjob", old_name="prompts_done", new_name="progress_done"),
        migrations.RenameField(model_name="generationjob", old_name="prompts_total", new_name="progress_total"),
        migrations.AlterField(model_name="generationjob", name="progress_total", field=PROGRESS_TOTAL.clone()),
        migrations.AlterField(model_name="generationjob", name="status", field=STATUS.clone()),
        migrations.RunPython(succeeded_exports_are_complete, migrations.RunPython.noop),
        migrations.CreateModel(
            name="EmbeddingJob",
            fields=[
                *job_fields(),
                ("model", models.CharField(help_text="The embedding model, e.g. all-MiniLM-L6-v2.", max_length=100)),
                ("already", models.PositiveIntegerField(default=0)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="embedding_jobs",
                        to="labelapp.campaign",
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.CreateModel(
            name="JudgeJob",
            fields=[
                *job_fields(),
                ("limit", models.PositiveIntegerField(blank=True, help_text="Judge at most this many items.", null=True)),
                ("parse_errors", models.PositiveIntegerField(default=0)),
                (
                    "items_remaining",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Items of the campaign still without a verdict from this judge when it finished.",
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="judge_jobs", to="labelapp.campaign"
                    ),
                ),
                (
                    "generator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="judge_jobs",
                        to="labelapp.generator",
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
    ]
