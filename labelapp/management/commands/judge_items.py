from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.models import Generator
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.judge import items_judge, items_judge_enqueue


class Command(BaseCommand):
    help = (
        "Have a generator act as AI judge on a campaign's pairwise or correctness items not yet judged by "
        "it. Verdicts are stored apart from human labels (JudgeLabel) and never exported with them."
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
                items_judge_enqueue(campaign=campaign, generator=generator, limit=options["limit"])
                self.stdout.write("Queued the judge run; a worker on queue 'inference' will run it.")
                return
            with tqdm(total=options["limit"], unit="item", desc=f"judge {generator.name}") as bar:
                run = items_judge(
                    campaign=campaign,
                    generator=generator,
                    limit=options["limit"],  # type: ignore[arg-type]
                    on_progress=lambda judged: bar.update(judged - bar.n),
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{generator.name} judged {run.judged} items ({run.parse_errors} unparseable answers); "
                f"{run.remaining} items still unjudged by it."
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
