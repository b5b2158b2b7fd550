from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.experiments.schema import experiment_read
from labelapp.models import Job
from labelapp.services.experiments import PlanEntry, experiment_apply


class Command(BaseCommand):
    help = (
        "Apply an experiment file (TOML): create or update its [[generator]]s and [[campaign]]s, then run its "
        "[[step]]s (import, generate, build_items, judge) in order, in one transaction. Prints each thing as "
        "created, updated or unchanged; applying the file again changes nothing. A change that would make "
        "labels already collected mean something else is refused, and then nothing is applied."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help="The experiment file, e.g. experiments/base_vs_chat.toml."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the plan without changing anything (models are not run).",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue generate and judge steps for workers on queue 'inference' instead of running them here; "
            "apply the file again once they are done to build items from their answers.",
        )

    def handle(self, *args: object, file: Path, dry_run: bool, enqueue: bool, **options: object) -> None:
        bars: dict[int, tqdm] = {}

        def show(entry: PlanEntry) -> None:
            for bar in bars.values():
                bar.close()
            bars.clear()
            self.stdout.write(str(entry))

        def progress(job: Job) -> None:
            bar = bars.setdefault(job.pk, tqdm(total=job.progress_total, desc=f"job {job.pk}", disable=None))
            bar.update(job.progress_done - bar.n)

        try:
            applied = experiment_apply(
                experiment=experiment_read(file),
                dry_run=dry_run,
                enqueue=enqueue,
                on_entry=show,
                on_job_progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        finally:
            for bar in bars.values():
                bar.close()
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        elif applied.changed:
            self.stdout.write(self.style.SUCCESS(f"Applied {file.name}."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{file.name}: nothing to change."))
