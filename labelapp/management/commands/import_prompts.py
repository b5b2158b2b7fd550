from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.prompts import prompt_import, prompt_rows_parse


class Command(BaseCommand):
    help = "Import prompts from a JSONL (prompt or messages per line) or CSV file. All or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True)

    def handle(self, *args: object, file: Path, campaign: str, **options: object) -> None:
        try:
            found = campaign_get(name=campaign)
            if not file.is_file():
                raise ApplicationError(f"{file}: no such file")
            with file.open("rb") as lines:
                rows = prompt_rows_parse(file_name=file.name, file=lines)
                imported = prompt_import(campaign=found, rows=rows, source=file.name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Imported {imported} prompts into campaign '{campaign}'."))
