from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.importers import FORMATS
from labelapp.importers.records import RecordFile, SourceRecord, record_file_open
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.imports import dataset_file_import, dataset_import_check


class Command(BaseCommand):
    help = (
        "Import a dataset into a campaign: model answers (--format candidates) or a public preference "
        "dataset in its published columns, whose own verdicts become source labels. FILE: .jsonl, .csv "
        "(either may be .gz), .parquet, or a folder `datasets` saved with save_to_disk. All or nothing: a bad "
        "row stores nothing and names its file, line and field. Importing a file again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        formats = "; ".join(f"{name}: {module.SUMMARY}" for name, module in FORMATS.items())
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--format", required=True, choices=list(FORMATS), help=formats)
        parser.add_argument(
            "--source",
            help="The dataset's name, e.g. Anthropic/hh-rlhf (default: the format): its verdicts are this "
            "source's labels, and answers it attributes to no model are this generator's.",
        )

    def handle(
        self,
        *args: object,
        file: Path,
        campaign: str,
        format: str,
        source: str | None = None,
        **options: object,
    ) -> None:
        try:
            found = campaign_get(name=campaign)
            dataset_import_check(campaign=found, format=format)
            opened = record_file_open(file)
            with tqdm(
                total=opened.total, unit=opened.unit, unit_scale=True, desc=opened.name, disable=None
            ) as bar:
                imported = dataset_file_import(
                    campaign=found, format=format, file=opened, source=source, records=_progress(opened, bar)
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Imported into campaign '{campaign}': {imported.summary()}"))


PROGRESS_EVERY = 1000  # records: tqdm's update costs more than reading a record


def _progress(file: RecordFile, bar: tqdm) -> Iterator[SourceRecord]:
    record = None
    for count, record in enumerate(file.records(), start=1):
        if count % PROGRESS_EVERY == 0:
            bar.update(record.progress - bar.n)
        yield record
    if record is not None:
        bar.update(record.progress - bar.n)
