from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.models import Generator, JudgeJob
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.jobs import job_enqueue
from labelapp.services.judge import items_judge, judge_job_create


class Command(BaseCommand):
    help = (
        "Have a generator act as AI judge on a campaign's pairwise, correctness, set-wise or ranking items not "
        "yet judged by it, each item of several answers in both orders (as labellers see it, and reversed). "
        "Verdicts are stored apart from human labels (JudgeLabel) and exported only with --labels judge."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--generator", required=True, help="Name of the generator that judges.")
        parser.add_argument("--limit", type=int, help="Judge at most this many items.")
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the run for a worker on queue 'inference'."
        )

    def handle(self, *args: object, **options: Any) -> None:
        try:
            campaign = campaign_get(name=str(options["campaign"]))
            generator = self._generator(str(options["generator"]))
            if options["enqueue"]:
                job = judge_job_create(campaign=campaign, generator=generator, limit=options["limit"])
                job_enqueue(job=job)
                self.stdout.write(f"Queued judge job {job.pk}; a worker on queue 'inference' will run it.")
                return
            with tqdm(unit="item", desc=f"judge {generator.name}") as bar:

                def show(progress: JudgeJob) -> None:
                    bar.total = progress.progress_total
                    bar.update(progress.progress_done - bar.n)

                job = items_judge(
                    campaign=campaign, generator=generator, limit=options["limit"], on_progress=show
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{generator.name} judged {job.progress_done} items ({job.parse_errors} unparseable answers, "
                f"{job.order_inconsistent} items judged differently with the answers in reverse order); "
                f"{job.items_remaining} items still unjudged by it."
            )
        )

    def _generator(self, name: str) -> Generator:
        generator = Generator.objects.filter(name=name).first()
        if generator is None:
            known = ", ".join(Generator.objects.values_list("name", flat=True)) or "none"
            raise ApplicationError(
                f"Generator '{name}' does not exist (known: {known}).", {"field": "generator"}
            )
        return generator
