from pathlib import Path

from django.core.management.base import CommandParser

from labelapp.management.commands import import_dataset


class Command(import_dataset.Command):
    help = (
        "Import prompts from a JSONL (prompt or messages per line) or CSV file: import_dataset --format "
        "candidates, whose rows may carry answers too. All or nothing; a prompt already there is not added again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True)

    def handle(self, *args: object, file: Path, campaign: str, **options: object) -> None:  # type: ignore[override]
        super().handle(file=file, campaign=campaign, format="candidates")
