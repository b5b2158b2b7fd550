from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.gold import gold_import


class Command(BaseCommand):
    help = (
        'Mark items gold from a JSONL file of known answers, {"item": ID, "value": {...}} per line, the value '
        "in canonical order (as exports show it). All or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True)

    def handle(self, *args: object, file: Path, campaign: str, **options: object) -> None:
        try:
            found = campaign_get(name=campaign)
            if not file.is_file():
                raise ApplicationError(f"{file}: no such file")
            count = gold_import(campaign=found, file_name=file.name, content=file.read_bytes())
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Marked {count} items gold in campaign '{campaign}'."))
