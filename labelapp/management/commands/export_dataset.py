from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.exporters import FORMATS
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.exports import dataset_export


class Command(BaseCommand):
    help = "Export a campaign's aggregated labels as a dataset TRL and `datasets` load as they are."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument(
            "--out", required=True, type=Path, help="Output file (.jsonl); written atomically."
        )
        parser.add_argument(
            "--min-labels", type=int, default=1, help="Skip items with fewer labels (default 1)."
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            export = dataset_export(
                campaign=campaign_get(name=str(options["campaign"])),
                format=str(options["format"]),
                out=Path(str(options["out"])),
                min_labels=options["min_labels"],  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Wrote {export.rows} {export.format} rows to {export.path}."))
