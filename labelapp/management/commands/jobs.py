from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.models import JOB_MODELS
from labelapp.selectors.campaigns import campaign_get
from labelapp.selectors.jobs import job_get, jobs_for_campaign
from labelapp.services.jobs import job_retry


class Command(BaseCommand):
    help = (
        "List a campaign's background jobs (generation, export, judge, embeddings) as the manage page shows "
        "them, or queue a failed or partly completed one again for a worker (--retry KIND ID)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument(
            "--retry",
            nargs=2,
            metavar=("KIND", "ID"),
            help=f"Kind: {', '.join(JOB_MODELS)}; then the job's id.",
        )
        parser.add_argument(
            "--stuck",
            action="store_true",
            help="With --retry: also a job left queued or running that nobody runs (a killed worker, a lost "
            "message). Make sure no worker is running it.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        try:
            campaign = campaign_get(name=options["campaign"])
            if options["retry"]:
                kind, raw_id = options["retry"]
                if not raw_id.isdigit():
                    raise ApplicationError(f"The job id must be a number, not '{raw_id}'.", {"field": "id"})
                job = job_get(campaign=campaign, kind=kind, job_id=int(raw_id))
                job_retry(job=job, actor=None, stuck=options["stuck"])
                self.stdout.write(f"{job.display_name} queued again; a worker will run what is left of it.")
                return
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        jobs = jobs_for_campaign(campaign=campaign)
        if not jobs:
            self.stdout.write(f"Campaign '{campaign.name}' has no jobs yet.")
        for job in jobs:
            line = f"{job.display_name:<20} {job.outcome:<34} {job.progress_in_words}"
            self.stdout.write(line + (f"  {job.error}" if job.error else ""))
