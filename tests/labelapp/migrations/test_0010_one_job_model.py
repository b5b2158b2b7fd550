"""Migration 0010 (the one job model) on a database holding rows written before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("labelapp", "0009_generator_concurrency_job_prompt_failures")
AFTER = ("labelapp", "0010_one_job_model")


@pytest.fixture
def at_0009(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    yield executor.loader.project_state([BEFORE]).apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())  # back to the latest


def migrate_to_0010():
    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    return executor.loader.project_state([AFTER]).apps


def test_generation_jobs_and_exports_keep_their_ids_progress_and_failures(at_0009):
    old = at_0009
    campaign = old.get_model("labelapp", "Campaign").objects.create(name="old")
    generator = old.get_model("labelapp", "Generator").objects.create(name="g", model="embedded")
    GenerationJob = old.get_model("labelapp", "GenerationJob")
    partial = GenerationJob.objects.create(
        campaign=campaign,
        generator=generator,
        params={"n": 2},
        status="partial",
        prompts_total=3,
        prompts_done=2,
        tokens_generated=40,
        prompt_failures=[{"prompt": 7, "message": "HTTP 400: too long"}],
    )
    running = GenerationJob.objects.create(
        campaign=campaign,
        generator=generator,
        params={"n": 1},
        status="running",
        prompts_total=5,
        prompts_done=1,
    )
    Export = old.get_model("labelapp", "Export")
    written = Export.objects.create(campaign=campaign, format="dpo", status="succeeded", rows=1200)
    failed = Export.objects.create(
        campaign=campaign, format="rm", status="failed", rows=300, error="disk full"
    )

    new = migrate_to_0010()
    jobs = new.get_model("labelapp", "GenerationJob").objects
    assert list(jobs.order_by("pk").values_list("pk", "status", "progress_done", "progress_total")) == [
        (partial.pk, "partial", 2, 3),
        (running.pk, "running", 1, 5),
    ]
    kept = jobs.get(pk=partial.pk)
    assert (
        kept.prompt_failures == [{"prompt": 7, "message": "HTTP 400: too long"}]
        and kept.tokens_generated == 40
    )
    exports = new.get_model("labelapp", "Export").objects
    assert list(
        exports.order_by("pk").values_list("pk", "status", "progress_done", "progress_total", "error")
    ) == [
        (written.pk, "succeeded", 1200, 1200, ""),  # a written export's rows are all of them
        (failed.pk, "failed", 300, 0, "disk full"),  # how many it would have had is not known
    ]
    for name in ("JudgeJob", "EmbeddingJob"):
        assert new.get_model("labelapp", name).objects.count() == 0
