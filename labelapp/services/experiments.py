"""Apply an experiment file (`labelapp.experiments.schema`): its generators and campaigns made to match the
file, then its steps run in order, in one transaction, through the services the commands use.

Each thing is reported as it is decided: created, updated (with the fields that changed) or unchanged. The
steps are idempotent, so applying the file again reports everything unchanged and adds nothing:
- import: a file imported again adds nothing (the import service finds its rows there);
- generate: a job runs only for prompts without all n answers of that generator with those params (the
  step's seed is part of them, 0 unless given), one job per generator and temperature;
- build_items: a group of candidates already in an item is not built again;
- judge: the generator judges the items it has not judged yet, up to `limit` items in all (an item of
  several answers gets two verdicts: both orders).

What would change the meaning of labels already collected (a campaign's kind, labels per item, criteria,
error categories or reference answer; the model behind a generator with outputs) is refused by the campaign
and generator services; the refusal names the file, table and key, and nothing is applied.

A dry run does everything but run models (generation, judging), reports it, then rolls back: item builds
after a generate step then see only the answers already there. Generation runs inline, inside the
transaction, unless `enqueue` queues it for workers; a generate or judge step whose job (same params) is
queued or running already is left to it.
"""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from django.db import models, transaction

from labelapp.errors import ApplicationError
from labelapp.experiments.schema import (
    BuildItemsStep,
    CampaignSpec,
    Experiment,
    GenerateStep,
    GeneratorSpec,
    ImportStep,
    JudgeStep,
    Step,
    Where,
)
from labelapp.importers.records import record_file_open
from labelapp.kinds.base import BuildOptions
from labelapp.kinds.pairwise import Pairing
from labelapp.models import Campaign, GenerationJob, Generator, Job, JobStatus, JudgeJob
from labelapp.services.best_of_n import selection_check
from labelapp.services.campaigns import (
    campaign_access_skill,
    campaign_create,
    campaign_labellers_set,
    campaign_update,
)
from labelapp.services.generation import (
    generation_job_run,
    generation_jobs_create,
    prompts_unanswered,
    sampling_params_sweep,
)
from labelapp.services.generators import generator_create, generator_update
from labelapp.services.imports import dataset_file_import
from labelapp.services.items import items_build
from labelapp.services.jobs import job_enqueue, job_run_inline
from labelapp.services.judge import items_judge, items_unjudged, judge_job_create

# The file's key -> the model's field.
GENERATOR_FIELDS = {
    "backend": "backend",
    "model": "model",
    "gguf_file": "gguf_file",
    "base_url": "base_url",
    "api_key_env": "api_key_env",
    "prompt_format": "prompt_format",
    "raw_template": "raw_template",
    "params": "default_params",
    "concurrency": "concurrency",
}
CAMPAIGN_FIELDS = {
    "kind": "kind",
    "labels_per_item": "labels_per_item",
    "min_labels": "min_labels",
    "agreement_to_stop": "agreement_to_stop",
    "judge_prelabel": "judge_prelabel",
    "title": "title",
    "instructions": "instructions",
    "criteria": "criteria",
    "error_categories": "error_categories",
    "skills": "required_skills",
    "gold_rate": "gold_rate",
    "min_gold_accuracy": "min_gold_accuracy",
    "min_gold_labels": "min_gold_labels",
    "show_reference_answer": "show_reference_answer",
    "lease_seconds": "lease_seconds",
    "priority": "priority",
    "continue_turns": "continue_turns",
    "user_simulator": "user_simulator",
    "selection": "selection",
    "review_below": "review_below",
}
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PlanEntry:
    change: Change
    subject: str  # "campaign 'hh'", "step 2: generate with 'smollm2' on 'hh' (T=0.7, n=2)"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.change:<9}  {self.subject}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ExperimentApplied:
    entries: tuple[PlanEntry, ...]
    dry_run: bool

    @property
    def changed(self) -> bool:
        return any(entry.change != Change.UNCHANGED for entry in self.entries)


EntryCallback = Callable[[PlanEntry], None]
JobProgress = Callable[[Job], None]


@contextlib.contextmanager
def _at(where: Where, key: str | None = None) -> Iterator[None]:
    """A service's refusal, told with the place in the file it came from."""
    try:
        yield
    except ApplicationError as exc:
        raise where.error(exc.message, _file_key(exc.extra.get("field")) or key) from None


def _file_key(field: Any) -> str | None:
    """The file's key for a model field a service names (`required_skills` is `skills` in the file)."""
    by_field = {v: k for k, v in {**GENERATOR_FIELDS, **CAMPAIGN_FIELDS}.items()}
    if not isinstance(field, str) or field == "__all__":  # a check across fields names no key
        return None
    return by_field.get(field, field)


def _declared(model: type[models.Model], spec: Any, names: dict[str, str]) -> dict[str, Any]:
    """The model's fields as the spec declares them; a key left out is the field's default."""
    declared = {}
    for key, field in names.items():
        value = getattr(spec, key)
        declared[field] = (
            cast(models.Field, model._meta.get_field(field)).get_default() if value is None else value
        )
    return declared


class _Application:
    def __init__(
        self,
        dry_run: bool,
        enqueue: bool,
        on_entry: EntryCallback | None,
        on_job_progress: JobProgress | None,
    ):
        self.dry_run, self.enqueue = dry_run, enqueue
        self.on_entry, self.on_job_progress = on_entry, on_job_progress
        self.entries: list[PlanEntry] = []

    def report(self, change: Change, subject: str, detail: str = "") -> None:
        entry = PlanEntry(change, subject, detail)
        self.entries.append(entry)
        if self.on_entry:
            self.on_entry(entry)

    def generator(self, spec: GeneratorSpec) -> None:
        fields = _declared(Generator, spec, GENERATOR_FIELDS)
        subject = f"generator '{spec.name}'"
        existing = Generator.objects.filter(name=spec.name).first()
        with _at(spec.where):
            if existing is None:
                generator_create(name=spec.name, **fields)
                self.report(Change.CREATED, subject, f"{fields['model']} ({fields['prompt_format']})")
                return
            changed = generator_update(generator=existing, **fields)
        self._updated(subject, changed, GENERATOR_FIELDS)

    def campaign(self, spec: CampaignSpec) -> None:
        fields = _declared(Campaign, spec, CAMPAIGN_FIELDS)
        fields["user_simulator"] = self._user_simulator(spec)
        if spec.labellers is not None:
            fields["required_skills"] = [*fields["required_skills"], campaign_access_skill(spec.name)]
        subject = f"campaign '{spec.name}'"
        existing = Campaign.objects.filter(name=spec.name).first()
        with _at(spec.where):
            if existing is None:
                campaign_create(name=spec.name, labellers=spec.labellers, **fields)
                self.report(
                    Change.CREATED, subject, f"{fields['kind']}, labels_per_item {fields['labels_per_item']}"
                )
                return
            # Labellers first: their access skill, among the required skills, is then as the file has it.
            labellers_changed = campaign_labellers_set(campaign=existing, usernames=spec.labellers)
            changed = campaign_update(campaign=existing, **fields) + (
                ["labellers"] if labellers_changed else []
            )
        self._updated(subject, changed, {**CAMPAIGN_FIELDS, "labellers": "labellers"})

    def _user_simulator(self, spec: CampaignSpec) -> Generator | None:
        if spec.user_simulator is None:
            return None
        found = Generator.objects.filter(name=spec.user_simulator).first()
        if found is None:
            raise spec.where.error(f"no generator named '{spec.user_simulator}'", "user_simulator")
        return found

    def _updated(self, subject: str, changed: list[str], names: dict[str, str]) -> None:
        keys = {field: key for key, field in names.items()}
        if changed:
            self.report(Change.UPDATED, subject, ", ".join(keys[field] for field in changed))
        else:
            self.report(Change.UNCHANGED, subject)

    def step(self, number: int, step: Step) -> None:
        if isinstance(step, ImportStep):
            self.import_file(number, step)
        elif isinstance(step, GenerateStep):
            for name in step.generators:
                self.generate(number, step, self._generator_get(step.where, name, "generators"))
        elif isinstance(step, BuildItemsStep):
            self.build_items(number, step)
        else:
            self.judge(number, step)

    def import_file(self, number: int, step: ImportStep) -> None:
        campaign = self._campaign_get(step.where, step.campaign, "campaign")
        subject = f"step {number}: import {step.file.name} into '{campaign.name}'"
        try:
            imported = dataset_file_import(
                campaign=campaign, format=step.format, file=record_file_open(step.file), source=step.source
            )
        except ApplicationError as exc:  # it names the file's line and field
            raise step.where.error(
                exc.message, "format" if exc.extra.get("field") == "format" else "file"
            ) from None
        counts = (imported.prompts, imported.candidates, imported.items, imported.source_labels)
        change = Change.CREATED if any(count.new for count in counts) else Change.UNCHANGED
        self.report(change, subject, imported.summary().removeprefix(f"{imported.file}: "))

    def generate(self, number: int, step: GenerateStep, generator: Generator) -> None:
        campaign = self._campaign_get(step.where, step.campaign, "campaign")
        overrides = {
            key: getattr(step, key) for key in ("n", "max_new_tokens", "top_p", "top_k", "stop", "seed")
        }
        with _at(step.where):
            params_list = sampling_params_sweep(
                generator=generator, overrides=overrides, temperatures=step.temperatures or ()
            )
        for params in params_list:
            subject = (
                f"step {number}: generate with '{generator.name}' on '{campaign.name}' "
                f"(T={params.temperature:g}, n={params.n}, {step.strategy}{f' by {step.select}' if step.select else ''})"
            )
            with _at(step.where):
                selection = selection_check(step.select).text if step.select else ""
            pending = prompts_unanswered(
                campaign=campaign, generator=generator, params=params, selection=selection
            ).count()
            if pending == 0 and campaign.prompts.exists():
                self.report(Change.UNCHANGED, subject, "every prompt answered")
                continue
            in_flight = GenerationJob.objects.filter(
                campaign=campaign, generator=generator, strategy=step.strategy, status__in=UNFINISHED
            )
            running = next(
                (job for job in in_flight if job.params == params.to_dict() and job.selection == selection),
                None,
            )
            if running is not None:
                self.report(Change.UNCHANGED, subject, f"job {running.pk} is {running.status} already")
                continue
            with _at(step.where):
                (job,) = generation_jobs_create(
                    campaign=campaign,
                    generator=generator,
                    params_list=[params],
                    strategy=step.strategy,
                    selection=step.select,
                )
            if self.dry_run:
                self.report(Change.CREATED, subject, f"{pending} prompts to answer (not run: dry run)")
                continue
            if self.enqueue:
                job_enqueue(job=job)
                self.report(Change.CREATED, subject, f"job {job.pk} queued for a worker on queue 'inference'")
                continue
            job = self._run(step.where, job)
            self.report(
                Change.CREATED, subject, f"job {job.pk} {job.outcome}: {job.candidates.count()} candidates"
            )

    def _run(self, where: Where, job: GenerationJob) -> GenerationJob:
        progress = self.on_job_progress
        try:
            return job_run_inline(job=job, run=generation_job_run, on_progress=progress)
        except ApplicationError:
            raise
        except Exception as exc:
            raise where.error(f"generation job {job.pk} failed: {type(exc).__name__}: {exc}") from exc

    def build_items(self, number: int, step: BuildItemsStep) -> None:
        campaign = self._campaign_get(step.where, step.campaign, "campaign")
        source = (
            self._campaign_get(step.where, step.source_campaign, "source_campaign")
            if step.source_campaign
            else None
        )
        options = BuildOptions(
            generators=tuple(step.generators or ()),
            per_item=step.per_item,
            max_per_prompt=step.max_per_prompt,
            pairing=step.pairing or Pairing.WITHIN_PROMPT,
        )
        with _at(step.where):
            built = items_build(
                campaign=campaign, kind=campaign.kind, options=options, seed=step.seed, source_campaign=source
            )
        subject = f"step {number}: build {campaign.kind} items of '{campaign.name}'" + (
            f" from '{source.name}'" if source else ""
        )
        detail = f"{built.created} new items, {built.already_built} built already"
        if built.skipped_identical:
            groups = "group" if built.skipped_identical == 1 else "groups"
            detail += f", {built.skipped_identical} {groups} of identical texts skipped"
        self.report(Change.CREATED if built.created else Change.UNCHANGED, subject, detail)

    def judge(self, number: int, step: JudgeStep) -> None:
        campaign = self._campaign_get(step.where, step.campaign, "campaign")
        generator = self._generator_get(step.where, step.generator, "generator")
        subject = f"step {number}: judge '{campaign.name}' with '{generator.name}'"
        unjudged = items_unjudged(campaign=campaign, generator=generator).count()
        wanted = unjudged
        if step.limit is not None:
            judged = (
                generator.judge_labels.filter(item__campaign=campaign).values("item_id").distinct().count()
            )
            wanted = min(unjudged, max(0, step.limit - judged))
        if wanted == 0:
            self.report(Change.UNCHANGED, subject, f"{unjudged} items left unjudged")
            return
        running = JudgeJob.objects.filter(
            campaign=campaign, generator=generator, status__in=UNFINISHED
        ).first()
        if running is not None:
            self.report(Change.UNCHANGED, subject, f"judge job {running.pk} is {running.status} already")
            return
        if self.dry_run:
            self.report(Change.CREATED, subject, f"{wanted} items to judge (not run: dry run)")
            return
        with _at(step.where):
            if self.enqueue:
                queued = judge_job_create(campaign=campaign, generator=generator, limit=wanted)
                job_enqueue(job=queued)
                self.report(
                    Change.CREATED, subject, f"judge job {queued.pk} queued for a worker on queue 'inference'"
                )
                return
            job = items_judge(campaign=campaign, generator=generator, limit=wanted)
        self.report(
            Change.CREATED,
            subject,
            f"judge job {job.pk}: {job.progress_done} items, {job.parse_errors} unparsed",
        )

    def _campaign_get(self, where: Where, name: str, key: str) -> Campaign:
        campaign = Campaign.objects.filter(name=name).first()
        if campaign is None:
            raise where.error(f"no campaign '{name}': declare it in a [[campaign]] table", key)
        return campaign

    def _generator_get(self, where: Where, name: str, key: str) -> Generator:
        generator = Generator.objects.filter(name=name).first()
        if generator is None:
            raise where.error(f"no generator '{name}': declare it in a [[generator]] table", key)
        return generator


def experiment_apply(
    *,
    experiment: Experiment,
    dry_run: bool = False,
    enqueue: bool = False,
    on_entry: EntryCallback | None = None,
    on_job_progress: JobProgress | None = None,
) -> ExperimentApplied:
    """Make the database match the experiment and run its steps, in one transaction: a refusal anywhere
    applies nothing. `on_entry` hears each plan entry as it is decided; a dry run is rolled back. With
    `enqueue`, generate and judge steps queue their jobs for workers (sent once the transaction commits)
    instead of running them here: apply the file again once they are done, to build the items from them."""
    application = _Application(dry_run, enqueue, on_entry, on_job_progress)
    with transaction.atomic():
        for generator in experiment.generators:
            application.generator(generator)
        for campaign in experiment.campaigns:
            application.campaign(campaign)
        for number, step in enumerate(experiment.steps, start=1):
            application.step(number, step)
        if dry_run:
            transaction.set_rollback(True)
    return ExperimentApplied(tuple(application.entries), dry_run)
