from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.exporters import FORMATS
from labelapp.exporters.options import export_options_parse
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.export_parts import default_workers
from labelapp.services.exports import dataset_export

FLAGS = {
    "min_labels": "--min-labels",
    "min_agreement": "--min-agreement",
    "exclude_labellers": "--exclude-labeller",
    "exclude_below_gold_accuracy": "--exclude-below-gold-accuracy",
    "generators": "--generator",
    "since": "--since",
    "test_fraction": "--test-fraction",
    "seed": "--seed",
    "kto_from": "--kto-from-pairwise/--kto-from-correctness",
    "expand_pairs": "--expand-pairs",
}


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"a whole number of processes, at least 1, not {text!r}")
    return int(text)


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
        parser.add_argument("--min-labels", type=int, help="Leave out items with fewer labels (default 1).")
        parser.add_argument(
            "--min-agreement",
            type=float,
            help="Leave out items where fewer than this fraction of labels agree with the majority (0-1).",
        )
        parser.add_argument(
            "--exclude-labeller",
            action="append",
            dest="exclude_labellers",
            metavar="USERNAME",
            help="Leave out this labeller's labels (repeatable).",
        )
        parser.add_argument(
            "--exclude-below-gold-accuracy",
            type=float,
            metavar="X",
            help="Leave out the labels of labellers whose gold accuracy in this campaign is below X (0-1).",
        )
        parser.add_argument(
            "--include-ties",
            action="store_true",
            default=None,
            help="Keep tied items as rows flagged tie=true (dpo, rm, hh-rlhf); never as two opposite pairs.",
        )
        parser.add_argument(
            "--generator",
            action="append",
            dest="generators",
            metavar="NAME",
            help="Only items whose candidates all come from these generators (repeatable).",
        )
        parser.add_argument("--since", help="Only labels given at or after this ISO date or date-time.")
        parser.add_argument(
            "--test-fraction",
            type=float,
            help="Put this fraction of prompts (all their rows) in a test split (0 <= F < 1).",
        )
        parser.add_argument("--seed", type=int, help="Seed of the train/test split (default 0).")
        parser.add_argument(
            "--kto-from-pairwise",
            action="append_const",
            const="pairwise",
            dest="kto_from",
            help="kto: pairwise winners become desirable rows, losers (and both-bad pairs) undesirable.",
        )
        parser.add_argument(
            "--kto-from-correctness",
            action="append_const",
            const="correctness",
            dest="kto_from",
            help="kto: answers judged correct by the majority become desirable rows, incorrect ones undesirable "
            "(can't tell and split verdicts are left out).",
        )
        parser.add_argument(
            "--expand-pairs",
            action="store_true",
            default=None,
            help="ranking: write one dpo row (prompt, chosen, rejected) per consensus pair instead.",
        )
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
            parsed = export_options_parse({name: options[name] for name in FLAGS})
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
            flag = FLAGS.get(exc.extra.get("field", ""), "")
            raise CommandError(f"{flag}: {exc.message}" if flag else exc.message) from None
        files = ", ".join(export.files)
        self.stdout.write(self.style.SUCCESS(f"Wrote {export.rows} {export.format} rows: {files}."))
