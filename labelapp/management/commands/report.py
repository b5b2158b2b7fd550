import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, EmbeddingJob
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
from labelapp.services.embeddings import candidate_embeddings_compute

FORMATS = (".html", ".json")


class Command(BaseCommand):
    help = (
        "Write a research report of a campaign: the numbers as JSON (--out report.json) or a standalone "
        "HTML page with its charts (--out report.html), the same as the staff page shows. The diversity "
        "report first embeds the candidates not embedded yet (all-MiniLM-L6-v2, about 0.1 s a text on a "
        "CPU) and stores them, so the page shows every metric too."
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
        parser.add_argument(
            "--coherence-campaign",
            help="coherent-but-wrong: the coherence campaign built from this campaign's candidates "
            "(default: the only one).",
        )

    def handle(self, *args: object, **options: object) -> None:
        out = Path(str(options["out"]))
        if out.suffix not in FORMATS:
            raise CommandError(f"--out must end in {' or '.join(FORMATS)}, not '{out.name}'.")
        if int(options["bootstrap"]) < 0:  # type: ignore[call-overload]
            raise CommandError("--bootstrap must be 0 or more.")
        report_options = ReportOptions(
            bootstrap_samples=options["bootstrap"],  # type: ignore[arg-type]
            seed=options["seed"],  # type: ignore[arg-type]
            coherence_campaign=options["coherence_campaign"],  # type: ignore[arg-type]
        )
        try:
            campaign = campaign_get(name=str(options["campaign"]))
            kind = report_kind_get(str(options["kind"]), campaign=campaign)
            if kind.reads_embeddings:
                self._embed_missing(campaign)
            context = report_context(campaign=campaign, kind=kind, options=report_options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if out.suffix == ".json":
            text = json.dumps(report_data(campaign=campaign, kind=kind, report=context["report"]), indent=2)
        else:
            text = standalone_html(context)
        _write_atomically(out, text)
        self.stdout.write(self.style.SUCCESS(f"Wrote the {kind.name} report of {campaign.name} to {out}."))

    def _embed_missing(self, campaign: Campaign) -> None:
        with tqdm(unit="text", desc="embed", disable=None) as bar:

            def progress(job: EmbeddingJob) -> None:
                bar.total = job.progress_total
                bar.update(job.progress_done - bar.n)

            job = candidate_embeddings_compute(campaign=campaign, on_progress=progress)
        self.stdout.write(
            f"Embedded {job.progress_done} candidates with {job.model} ({job.already} already were)."
        )


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)
