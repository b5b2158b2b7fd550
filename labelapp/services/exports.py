"""Dataset exports: plan the request, write its rows in parts into staged files, add the card, record it.

The plan is `selectors.exports.export_plan`; the parts are made by `labelapp.export_parts`, each reading
its records (`selectors.records`) and handing them to the plan's format. `dataset_export` runs an export
now (the command line); `export_job_create` + `job_enqueue` queue one for a Celery worker (the
manage page and the API), which calls `export_job_run`.
"""

import importlib.metadata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from labelapp.errors import ApplicationError
from labelapp.export_parts import default_workers, export_parts_write
from labelapp.exporters.card import CardFacts, ExportStats, card_render
from labelapp.exporters.options import ExportOptions, export_options_parse
from labelapp.exporters.splits import split_names
from labelapp.exporters.writers import DATASET, JSONL, StagedOutput, output_kind
from labelapp.models import Campaign, Export, ExportOutput, JobStatus
from labelapp.selectors.exports import ExportPlan, export_plan
from labelapp.services.audit import audit_record
from labelapp.services.jobs import job_claim, job_fail, job_progress, job_succeed

ProgressCallback = Callable[[int], None]  # rows written so far
SUFFIXES = {ExportOutput.JSONL: ".jsonl", ExportOutput.PARQUET: ".parquet", ExportOutput.DATASET: ""}


def _app_version() -> str:
    try:
        return importlib.metadata.version("labelapp")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


@dataclass(frozen=True)
class Written:
    rows: int
    files: list[Path]


def export_write(
    plan: ExportPlan, *, on_progress: ProgressCallback | None = None, workers: int = 1
) -> Written:
    """Stream the plan's rows into staged files split by prompt, in parts made by up to `workers`
    processes, add the dataset card, and move them into place."""
    stats = ExportStats()
    splits = split_names(plan.options.test_fraction)
    count = 0
    with StagedOutput(
        out=plan.out, splits=splits, columns=plan.rows_format.columns, shape=plan.shape
    ) as output:
        for part in export_parts_write(plan=plan, files=output.parts, workers=workers):
            output.part_join(part.index)
            stats.merge(part.stats)
            count += part.rows
            if on_progress is not None:
                on_progress(count)
        facts = CardFacts(
            campaign_name=plan.campaign.name,
            campaign_title=plan.campaign.title,
            instructions=plan.campaign.instructions,
            format=plan.rows_format,
            shape=plan.shape,
            splits=splits,
            files=[output.final_path(split) for split in splits],
            dataset_folder=output.kind == DATASET,
            command=plan.command(redact=True),
            settings=plan.settings_in_words(),
            source_labels=plan.selection.source_labels,
            judge_labels=plan.selection.judge_labels,
            app_version=_app_version(),
            exported_at=timezone.now(),
        )
        files = output.commit(card_render(facts, stats))
    return Written(rows=count, files=files)


def dataset_export(
    *,
    campaign: Campaign,
    format: str,
    out: Path,
    options: ExportOptions | None = None,
    created_by: User | None = None,
    on_progress: ProgressCallback | None = None,
    workers: int = 1,
) -> Export:
    """Export now, from this process (and up to `workers` processes it forks); the Export row records
    it, failed or not."""
    plan = export_plan(campaign=campaign, format=format, out=out, options=options or ExportOptions())
    export = Export.objects.create(
        campaign=campaign,
        format=format,
        output=output_kind(out),
        options=plan.options.to_dict(),
        status=JobStatus.RUNNING,
        path=str(out.resolve()),
        command=plan.command(redact=False),
        created_by=created_by,
        started_at=timezone.now(),
    )
    _audit_created(export)
    try:
        written = export_write(plan, on_progress=on_progress, workers=workers)
    except BaseException as exc:
        job_fail(model=Export, job_id=export.pk, error=f"{type(exc).__name__}: {exc}")
        raise
    return _export_succeed(export, written, download_path="")


def _export_succeed(export: Export, written: Written, *, download_path: str) -> Export:
    return job_succeed(
        job=export,
        progress_done=written.rows,
        progress_total=written.rows,
        files=[str(path.resolve()) for path in written.files],
        download_path=download_path,
    )


@transaction.atomic
def export_job_create(
    *,
    campaign: Campaign,
    format: str,
    output: str,
    options: dict | ExportOptions,
    created_by: User | None,
) -> Export:
    """Queue an export written under LABELAPP_EXPORT_DIR, for a worker to run and staff to download."""
    if output not in SUFFIXES:
        raise ApplicationError(
            f"Field 'output' must be one of {', '.join(SUFFIXES)}, not {output!r}.", {"field": "output"}
        )
    parsed = options if isinstance(options, ExportOptions) else export_options_parse(options)
    export = Export.objects.create(
        campaign=campaign, format=format, output=output, options=parsed.to_dict(), created_by=created_by
    )
    out = (
        Path(settings.LABELAPP_EXPORT_DIR)
        / f"{campaign.name}-{format}-{export.pk}{SUFFIXES[ExportOutput(output)]}"
    )
    plan = export_plan(campaign=campaign, format=format, out=out, options=parsed)
    export.path, export.command = str(out), plan.command(redact=False)
    export.save(update_fields=["path", "command"])
    _audit_created(export)
    return export


def _audit_created(export: Export) -> None:
    audit_record(
        actor=export.created_by,
        action="export.create",
        target_type="export",
        target_ids=[export.pk],
        detail={
            "campaign": export.campaign.name,
            "format": export.format,
            "path": export.path,
            "command": export.command,
        },
    )


def export_download_record(*, export: Export, part: str, actor: User) -> None:
    """Who took a copy of the labels off the server, and which file."""
    audit_record(
        actor=actor,
        action="export.download",
        target_type="export",
        target_ids=[export.pk],
        detail={"campaign": export.campaign.name, "file": part},
    )


def _bundle(files: list[Path], out: Path) -> Path:
    """One file to download: the data file itself, or a .zip of the data files (or folder) and the card."""
    if len(files) == 2 and files[0].is_file():
        return files[0]
    bundle = out.with_name(f"{out.name}.zip")
    staged = out.with_name(f".{out.name}.zip.partial")
    compression = zipfile.ZIP_DEFLATED if output_kind(out) == JSONL else zipfile.ZIP_STORED
    with zipfile.ZipFile(staged, "w", compression=compression) as archive:
        for path in files:
            if path.is_dir():
                for inner in sorted(path.rglob("*")):
                    if inner.is_file():
                        archive.write(inner, inner.relative_to(path.parent))
            else:
                archive.write(path, path.name)
    staged.replace(bundle)
    return bundle


def export_job_run(*, export_id: int, on_progress: ProgressCallback | None = None) -> Export | None:
    """Run a queued export; None when there is nothing to run (already finished, or deleted)."""
    export = job_claim(model=Export, job_id=export_id)
    if export is None:
        return None
    job_progress(job=export, done=0)  # a run after a crash writes every row again
    out = Path(export.path)
    plan = export_plan(
        campaign=export.campaign, format=export.format, out=out, options=export_options_parse(export.options)
    )

    def progress(rows: int) -> None:
        job_progress(job=export, done=rows)
        if on_progress is not None:
            on_progress(rows)

    written = export_write(plan, on_progress=progress, workers=default_workers())
    bundle = _bundle(written.files, out)
    if bundle not in written.files:
        written.files.append(bundle)
    return _export_succeed(export, written, download_path=str(bundle))
