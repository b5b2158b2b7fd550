from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.kinds import KINDS
from labelapp.kinds.base import BuildOptions
from labelapp.kinds.pairwise import Pairing
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.items import items_build


class Command(BaseCommand):
    help = "Build labelling items from a campaign's candidates, grouped as the campaign's task kind needs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument(
            "--generator",
            action="append",
            default=[],
            help="Only candidates of this generator (repeat for several; set-vs-set takes exactly two); NAME@T: "
            "only its samples at temperature T (set vs set: one model at two temperatures); NAME:best-of-n: only "
            "the answers its best-of-N jobs selected.",
        )
        parser.add_argument(
            "--per-item",
            type=int,
            help="Candidates per item (setwise N, ranking K); the kind's default if unset.",
        )
        parser.add_argument(
            "--pairing",
            choices=[p.value for p in Pairing],
            default=Pairing.WITHIN_PROMPT,
            help="pairwise: within-prompt pairs a prompt's answers; cross-generator only answers of different "
            "generators; answer-vs-revision each answer with its revision; best-of-n-vs-sample each best-of-N "
            "selected answer with each single sample of its generator.",
        )
        parser.add_argument("--max-per-prompt", type=int, help="At most this many items per prompt.")
        parser.add_argument("--seed", type=int, help="Seed for the grouping and shown positions.")
        parser.add_argument(
            "--source-campaign",
            help="Build from this campaign's candidates instead (e.g. coherence items of a correctness campaign's answers).",
        )

    def handle(self, *args: object, **options: object) -> None:
        build_options = BuildOptions(
            generators=tuple(options["generator"]),  # type: ignore[arg-type]
            per_item=options["per_item"],  # type: ignore[arg-type]
            max_per_prompt=options["max_per_prompt"],  # type: ignore[arg-type]
            pairing=str(options["pairing"]),
        )
        source = options["source_campaign"]
        try:
            built = items_build(
                campaign=campaign_get(name=str(options["campaign"])),
                kind=str(options["kind"]),
                options=build_options,
                seed=options["seed"],  # type: ignore[arg-type]
                source_campaign=campaign_get(name=str(source)) if source else None,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Built {built.created} items ({built.already_built} already built, "
                f"{built.skipped_identical} groups with identical texts skipped)."
            )
        )
