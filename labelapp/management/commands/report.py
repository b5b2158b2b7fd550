import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labelapp.errors import ApplicationError
from labelapp.reports.bradley_terry import BOOTSTRAP_SAMPLES
from labelapp.reports.registry import (
    REPORTS,
    ReportOptions,
    report_context,
    report_data,
    report_kind_get,
    standalone_html,
)
from labelapp.selectors.campaigns import campaign_get

FORMATS = (".html", ".json")


class Command(BaseCommand):
    help = (
        "Write a research report of a campaign: the numbers as JSON (--out report.json) or a standalone "
        "HTML page with its charts (--out report.html), the same as the staff page shows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--kind", required=True, help=f"One of: {', '.join(REPORTS)}.")
        parser.add_argument("--out", required=True, type=Path, help="report.html or report.json")
        parser.add_argument(
            "--bootstrap",
            type=int,
            default=BOOTSTRAP_SAMPLES,
            help=f"Bootstrap resamples for intervals (default {BOOTSTRAP_SAMPLES}).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the bootstrap (default 0).")

    def handle(self, *args: object, **options: object) -> None:
        out = Path(str(options["out"]))
        if out.suffix not in FORMATS:
            raise CommandError(f"--out must end in {' or '.join(FORMATS)}, not '{out.name}'.")
        if int(options["bootstrap"]) < 0:  # type: ignore[call-overload]
            raise CommandError("--bootstrap must be 0 or more.")
        try:
            campaign = campaign_get(name=str(options["campaign"]))
            kind = report_kind_get(str(options["kind"]))
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        context = report_context(
            campaign=campaign,
            kind=kind,
            options=ReportOptions(bootstrap_samples=options["bootstrap"], seed=options["seed"]),  # type: ignore[arg-type]
        )
        if out.suffix == ".json":
            text = json.dumps(report_data(campaign=campaign, kind=kind, report=context["report"]), indent=2)
        else:
            text = standalone_html(context)
        _write_atomically(out, text)
        self.stdout.write(self.style.SUCCESS(f"Wrote the {kind.name} report of {campaign.name} to {out}."))


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)
