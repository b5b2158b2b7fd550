from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.kinds import KINDS
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.items import Pairing, items_build


class Command(BaseCommand):
    help = "Build labelling items from a campaign's candidates (pairwise: pairs of one prompt's candidates)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument(
            "--pairing",
            choices=[p.value for p in Pairing],
            default=Pairing.WITHIN_PROMPT,
            help="within-prompt: pairs of a prompt's answers; answer-vs-revision: each answer against its revision.",
        )
        parser.add_argument("--max-per-prompt", type=int, help="At most this many items per prompt.")
        parser.add_argument("--seed", type=int, help="Seed for the pair order and shown positions.")

    def handle(self, *args: object, **options: object) -> None:
        try:
            built = items_build(
                campaign=campaign_get(name=str(options["campaign"])),
                kind=str(options["kind"]),
                pairing=str(options["pairing"]),
                max_per_prompt=options["max_per_prompt"],  # type: ignore[arg-type]
                seed=options["seed"],  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Built {built.created} items ({built.already_built} already built, "
                f"{built.skipped_identical} identical pairs skipped)."
            )
        )
