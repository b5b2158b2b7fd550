"""Dataset exports: check the request, stream records through a format into staged files, record it.

`dataset_export` runs an export now (the command line); `export_job_create` + `job_enqueue`
queue one for a Celery worker (the manage page and the API), which calls `export_job_run`.
"""

import importlib.metadata
import shlex
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from labelapp.errors import ApplicationError
from labelapp.exporters import FORMATS, format_get
from labelapp.exporters.card import CardFacts, ExportStats, card_render
from labelapp.exporters.columns import TEXT_OR_MESSAGES, Shape
from labelapp.exporters.format import Format
from labelapp.exporters.options import ExportOptions, export_options_parse
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.exporters.records import AGGREGATION_IN_WORDS, RECORDS, Selection
from labelapp.exporters.splits import split_names
from labelapp.exporters.writers import DATASET, JSONL, StagedOutput, output_kind
from labelapp.models import Campaign, Export, ExportOutput, Generator, JobStatus, Label, Prompt
from labelapp.services.audit import audit_record
from labelapp.services.export_parts import default_workers, export_parts_write
from labelapp.services.jobs import job_claim, job_fail, job_progress, job_succeed

ProgressCallback = Callable[[int], None]  # rows written so far
SUFFIXES = {ExportOutput.JSONL: ".jsonl", ExportOutput.PARQUET: ".parquet", ExportOutput.DATASET: ""}


def _rows_format(export_format: Format, options: ExportOptions) -> Format:
    """The format whose rows are written: the requested one, or what --expand-pairs expands it to."""
    if options.expand_pairs and export_format.expanded is not None:
        return export_format.expanded
    return export_format


@dataclass(frozen=True)
class ExportPlan:
    """A checked export request: everything the writing needs, and nothing left to validate."""

    campaign: Campaign
    format: Format
    options: ExportOptions
    out: Path
    selection: Selection
    shape: Shape
    excluded: dict[int, str]  # labeller id -> why their labels are left out
    plain_prompts_as_messages: int = 0  # where the campaign mixes plain-text and chat prompts

    @property
    def rows_format(self) -> Format:
        return _rows_format(self.format, self.options)

    def command(self, *, redact: bool) -> str:
        """The export_dataset command that makes this export; `redact` shows excluded labellers by pseudonym."""
        o = self.options
        words = ["python", "manage.py", "export_dataset", "--campaign", self.campaign.name]
        words += ["--format", self.format.name, "--out", str(self.out)]
        if o.min_labels != 1:
            words += ["--min-labels", str(o.min_labels)]
        if o.min_agreement:
            words += ["--min-agreement", str(o.min_agreement)]
        for name in o.exclude_labellers:
            words += ["--exclude-labeller", _pseudonym_of_name(name) if redact else name]
        if o.exclude_below_gold_accuracy is not None:
            words += ["--exclude-below-gold-accuracy", str(o.exclude_below_gold_accuracy)]
        if o.include_ties:
            words.append("--include-ties")
        for name in o.generators:
            words += ["--generator", name]
        if o.since:
            words += ["--since", o.since]
        if o.test_fraction:
            words += ["--test-fraction", str(o.test_fraction), "--seed", str(o.seed)]
        for source in o.kto_from:
            words.append(f"--kto-from-{source}")
        if o.expand_pairs:
            words.append("--expand-pairs")
        return shlex.join(words)

    def settings_in_words(self) -> list[str]:
        o = self.options
        lines = [
            f"Aggregation: {AGGREGATION_IN_WORDS[self.campaign.kind]}",
            f"Items with fewer than {o.min_labels} label(s) left out"
            + (f"; items whose agreement is below {o.min_agreement} left out." if o.min_agreement else "."),
            "Gold (check) items are never exported.",
        ]
        if self.plain_prompts_as_messages:
            lines.append(
                f"Prompts: {self.plain_prompts_as_messages} plain-text prompt(s) written as one user message "
                "each, because the campaign mixes plain-text and chat prompts."
            )
        if self.rows_format.name in {"dpo", "rm", "hh-rlhf"} and self.campaign.kind == "pairwise":
            lines.append(
                "Ties: kept as rows flagged `tie: true`."
                if o.include_ties
                else "Ties: left out (no `--include-ties`)."
            )
        if self.excluded:
            described = ", ".join(
                f"{labeller_pseudonym(i)} ({why})" for i, why in sorted(self.excluded.items())
            )
            lines.append(f"Labels of {len(self.excluded)} labeller(s) left out: {described}.")
        if o.generators:
            lines.append(f"Only items whose candidates all come from: {', '.join(o.generators)}.")
        if o.since:
            lines.append(f"Only labels given at or after {o.since}.")
        if o.test_fraction:
            lines.append(
                f"Split by prompt content: test fraction {o.test_fraction} (on average), seed {o.seed}; "
                "all rows of a prompt are in one split."
            )
        if o.kto_from:
            lines.append(f"KTO rows from: {', '.join(o.kto_from)} labels.")
        if self.campaign.kind == "ranking" and self.rows_format.name in {"dpo", "rm", "hh-rlhf"}:
            lines.append(
                "Pairs: every pair the consensus order keeps by a majority of labellers (ranked pairs); "
                "items the majority flagged all flawed give no pairs."
            )
        return lines


def _pseudonym_of_name(username: str) -> str:
    user = get_user_model().objects.filter(username=username).first()
    return labeller_pseudonym(user.pk) if user else "unknown-labeller"


def _excluded_labellers(campaign: Campaign, options: ExportOptions) -> dict[int, str]:
    excluded: dict[int, str] = {}
    if options.exclude_labellers:
        found = dict(
            get_user_model()
            .objects.filter(username__in=options.exclude_labellers)
            .values_list("username", "pk")
        )
        missing = [name for name in options.exclude_labellers if name not in found]
        if missing:
            raise ApplicationError(
                f"No labeller named {', '.join(repr(name) for name in missing)}.",
                {"field": "exclude_labellers"},
            )
        excluded.update((pk, "excluded by name") for pk in found.values())
    threshold = options.exclude_below_gold_accuracy
    if threshold is not None:
        scored = (
            Label.objects.filter(item__campaign=campaign, gold_correct__isnull=False)
            .values("labeller_id")
            .annotate(scored=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True)))
        )
        for row in scored:
            accuracy = row["correct"] / row["scored"]
            if accuracy < threshold:
                excluded.setdefault(
                    row["labeller_id"],
                    f"gold accuracy {accuracy:.0%} below {threshold:.0%}, {row['scored']} gold labels",
                )
    return excluded


def _generators_check(names: tuple[str, ...]) -> None:
    known = set(Generator.objects.filter(name__in=names).values_list("name", flat=True))
    missing = [name for name in names if name not in known]
    if missing:
        every = ", ".join(Generator.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise ApplicationError(
            f"No generator named {', '.join(repr(n) for n in missing)} (known: {every}).",
            {"field": "generators"},
        )


def _exported_prompts(campaign: Campaign) -> QuerySet[Prompt]:
    """The prompts of the campaign's items: its own, or those of the campaign it judges (--source-campaign)."""
    return Prompt.objects.filter(items__campaign=campaign)


def _shape(campaign: Campaign) -> Shape:
    """One shape per export: conversational as soon as one prompt is chat messages, every row alike."""
    chat = _exported_prompts(campaign).filter(messages__isnull=False).exists()
    return Shape(conversational=chat, kind=campaign.kind, criteria=tuple(campaign.criteria))


def _plain_prompts_as_messages(campaign: Campaign, export_format: Format, shape: Shape) -> int:
    """How many plain-text prompts a conversational export writes as one user message each."""
    if not shape.conversational or TEXT_OR_MESSAGES not in export_format.columns.values():
        return 0
    return _exported_prompts(campaign).filter(messages__isnull=True).values("pk").distinct().count()


def export_plan(*, campaign: Campaign, format: str, out: Path, options: ExportOptions) -> ExportPlan:
    """Check everything that can be checked before writing; raise ApplicationError naming the field."""
    export_format = format_get(format)
    output_kind(out)
    if campaign.kind not in RECORDS:
        raise ApplicationError(
            f"Campaign '{campaign.name}' has task kind '{campaign.kind}', which no exporter reads yet.",
            {"field": "campaign"},
        )
    if export_format.kinds and campaign.kind not in export_format.kinds:
        readers = sorted(f.name for f in FORMATS.values() if not f.kinds or campaign.kind in f.kinds)
        raise ApplicationError(
            f"The {export_format.name} format reads {' and '.join(export_format.kinds)} campaigns; campaign "
            f"'{campaign.name}' is a {campaign.kind} campaign (its formats: {', '.join(readers)}).",
            {"field": "format"},
        )
    if options.expand_pairs and export_format.expanded is None:
        raise ApplicationError(
            f"--expand-pairs applies to --format ranking only, not {export_format.name}"
            " (dpo, rm and hh-rlhf read a ranking campaign as its consensus pairs already).",
            {"field": "expand_pairs"},
        )
    export_format.check(options, campaign.kind)
    _generators_check(options.generators)
    excluded = _excluded_labellers(campaign, options)
    shape = _shape(campaign)
    return ExportPlan(
        campaign=campaign,
        format=export_format,
        options=options,
        out=out,
        selection=Selection(
            min_labels=options.min_labels,
            min_agreement=options.min_agreement,
            excluded_labeller_ids=frozenset(excluded),
            since=options.since_datetime,
            generators=frozenset(options.generators),
            audit_trail=export_format.audit_trail,
        ),
        shape=shape,
        excluded=excluded,
        plain_prompts_as_messages=_plain_prompts_as_messages(
            campaign, _rows_format(export_format, options), shape
        ),
    )


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
