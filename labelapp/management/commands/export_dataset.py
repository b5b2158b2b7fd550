from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.export_parts import default_workers
from labelapp.exporters import FORMATS
from labelapp.exporters.options import CHOICE, NAMES, NUMBER, OPTIONS, SWITCH, Option, export_options_parse
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.exports import dataset_export


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"a whole number of processes, at least 1, not {text!r}")
    return int(text)


def _option_add(parser: CommandParser, option: Option) -> None:
    """The option's flag (or one flag per choice); absent flags leave the option to its default."""
    if option.kind == NAMES and option.choices:
        for choice, help in option.choices.items():
            flag = option.flag.format(choice)
            parser.add_argument(flag, action="append_const", const=choice, dest=option.name, help=help)
    elif option.kind == NAMES:
        help = f"{option.help} Repeat the flag for each."
        parser.add_argument(option.flag, action="append", dest=option.name, metavar=option.metavar, help=help)
    elif option.kind == SWITCH:
        parser.add_argument(
            option.flag, action="store_true", default=None, dest=option.name, help=option.help
        )
    elif option.kind == CHOICE:
        choices = "; ".join(f"{name}: {help}" for name, help in option.choices.items())
        parser.add_argument(
            option.flag, choices=list(option.choices), dest=option.name, help=f"{option.help} ({choices})"
        )
    else:
        cast = option.cast if option.kind == NUMBER else str
        parser.add_argument(
            option.flag, type=cast, dest=option.name, metavar=option.metavar, help=option.help
        )


class Command(BaseCommand):
    help = "Export a campaign's aggregated labels as a dataset TRL and `datasets` load as they are."

    def add_arguments(self, parser: CommandParser) -> None:
        formats = "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values())
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--format", required=True, choices=list(FORMATS), help=formats)
        parser.add_argument(
            "--out",
            required=True,
            type=Path,
            help="prefs.jsonl, prefs.parquet, or a folder (no suffix) for a datasets DatasetDict; "
            "written atomically, with a dataset card beside it.",
        )
        for option in OPTIONS:
            _option_add(parser, option)
        parser.add_argument(
            "--workers",
            type=_worker_count,
            default=default_workers(),
            help="Processes that make the rows, each reading its own part of the items "
            "(default: one per CPU this process may use; 1 makes them all in this process).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            parsed = export_options_parse({option.name: options[option.name] for option in OPTIONS})
            with tqdm(
                unit=" rows", desc=f"{options['format']} export", disable=options["no_progress"]
            ) as bar:
                export = dataset_export(
                    campaign=campaign_get(name=options["campaign"]),
                    format=options["format"],
                    out=Path(options["out"]),
                    options=parsed,
                    on_progress=lambda rows: bar.update(rows - bar.n),
                    workers=options["workers"],
                )
        except ApplicationError as exc:
            flags = {option.name: "/".join(option.flags) for option in OPTIONS}
            flag = flags.get(exc.extra.get("field", ""), "")
            raise CommandError(f"{flag}: {exc.message}" if flag else exc.message) from None
        files = ", ".join(export.files)
        self.stdout.write(self.style.SUCCESS(f"Wrote {export.rows} {export.format} rows: {files}."))
