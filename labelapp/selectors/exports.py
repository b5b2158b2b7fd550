"""Exports: the plan of one (`export_plan`, a checked request), and the Export rows of past ones.

The plan is all the writing needs, and nothing is left to validate: the parts runner (labelapp.export_parts)
reads its records by its selection and hands them to its format. Its command and settings in words, shown
on the dataset card, are made from the option declarations (labelapp.exporters.options.OPTIONS).
"""

import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.exporters import FORMATS, format_get
from labelapp.exporters.columns import TEXT_OR_MESSAGES, Shape
from labelapp.exporters.format import Format, RowOptions
from labelapp.exporters.options import CHOICE, MOMENT, NAMES, NUMBER, OPTIONS, SWITCH, ExportOptions, Option
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.exporters.writers import output_kind
from labelapp.kinds import ranking
from labelapp.models import Campaign, Export, Generator, JobStatus, JudgeLabel, Label, Prompt
from labelapp.selectors.records import AGGREGATION_IN_WORDS, RECORDS, Selection


def export_get(*, export_id: int) -> Export:
    export = Export.objects.select_related("campaign").filter(pk=export_id).first()
    if export is None:
        raise NotFoundError(f"Export {export_id} does not exist.", {"field": "export"})
    return export


def export_download_path(*, export: Export, part: str = "data") -> Path:
    """The file a download serves: the data (one file, or a .zip of several) or the dataset card ("card").

    Only exports run by a worker have one, and only inside LABELAPP_EXPORT_DIR: a path written by the
    command line elsewhere is never served.
    """
    if export.status != JobStatus.SUCCEEDED:
        raise ApplicationError(
            f"Export {export.pk} is {export.status}; download it once it has succeeded.", {"field": "export"}
        )
    if part == "card":
        chosen = next((p for p in export.files if p.endswith("README.md")), "")
    elif part == "data":
        chosen = export.download_path
    else:
        raise ApplicationError("Field 'file' must be 'data' or 'card'.", {"field": "file"})
    folder = Path(settings.LABELAPP_EXPORT_DIR).resolve()
    path = Path(chosen).resolve() if chosen else None
    if path is None or not path.is_relative_to(folder):
        raise NotFoundError(
            f"Export {export.pk} was written by the command line to {export.path}; only exports started from the "
            "app can be downloaded.",
            {"field": "export"},
        )
    if not path.is_file():
        raise NotFoundError(f"The file of export {export.pk} is gone from the server.", {"field": "export"})
    return path


PAIR_FORMATS = {"dpo", "rm", "hh-rlhf"}  # the formats whose rows are preference pairs (exporters.pairs)


@dataclass(frozen=True)
class ExportPlan:
    """A checked export request: everything the writing needs, and nothing left to validate."""

    campaign: Campaign
    format: Format  # the format asked for
    options: ExportOptions
    out: Path
    selection: Selection
    shape: Shape
    excluded: dict[int, str]  # labeller id -> why their labels are left out
    labeller_ids: dict[str, int]  # the labellers the options name, by username
    plain_prompts_as_messages: int = 0  # where the campaign mixes plain-text and chat prompts

    @property
    def rows_format(self) -> Format:
        """The format whose rows are written: the one asked for, or what --expand-pairs expands it to."""
        if self.options.expand_pairs and self.format.expanded is not None:
            return self.format.expanded
        return self.format

    @property
    def row_options(self) -> RowOptions:
        return RowOptions(asked=self.options, shape=self.shape)

    def command(self, *, redact: bool) -> str:
        """The export_dataset command that makes this export; `redact` shows labellers by pseudonym."""
        words = ["python", "manage.py", "export_dataset", "--campaign", self.campaign.name]
        words += ["--format", self.format.name, "--out", str(self.out)]
        for option in OPTIONS:
            value = getattr(self.options, option.name)
            if value != option.default:
                words += self._flag_words(option, value, redact=redact)
        return shlex.join(words)

    def _flag_words(self, option: Option, value: object, *, redact: bool) -> list[str]:
        if option.kind == SWITCH:
            return [option.flag]
        if option.kind in {NUMBER, MOMENT, CHOICE}:
            return [option.flag, str(value)]
        assert option.kind == NAMES and isinstance(value, tuple)
        if option.choices:
            return [option.flag.format(name) for name in value]
        if option.private and redact:
            value = tuple(labeller_pseudonym(self.labeller_ids[name]) for name in value)
        return [word for name in value for word in (option.flag, name)]

    def settings_in_words(self) -> list[str]:
        """The card's lines on what was exported: the aggregation, each option that applies, what was left out."""
        kind, format = self.campaign.kind, self.rows_format.name
        lines = [f"Aggregation: {AGGREGATION_IN_WORDS[kind]}"]
        for option in OPTIONS:
            if option.applies_to(format=format, kind=kind):
                lines.append(option.in_words(getattr(self.options, option.name), self.options))
        if self.selection.judge_labels and not self.options.judge_inconsistent:
            lines.append(
                "Judge verdicts: only those the judge repeated with the answers in reverse order "
                "(order-consistent); `--include-order-inconsistent` keeps the others too."
            )
        lines.append("Gold (check) items are never exported.")
        if self.plain_prompts_as_messages:
            lines.append(
                f"Prompts: {self.plain_prompts_as_messages} plain-text prompt(s) written as one user message "
                "each, because the campaign mixes plain-text and chat prompts."
            )
        if self.excluded:
            described = ", ".join(
                f"{labeller_pseudonym(i)} ({why})" for i, why in sorted(self.excluded.items())
            )
            lines.append(f"Labels of {len(self.excluded)} labeller(s) left out: {described}.")
        if kind == ranking.NAME and format in PAIR_FORMATS:
            lines.append(
                "Pairs: every pair the consensus order keeps by a majority of labellers (ranked pairs); "
                "items the majority flagged all flawed give no pairs."
            )
        return [line for line in lines if line]


def export_plan(*, campaign: Campaign, format: str, out: Path, options: ExportOptions) -> ExportPlan:
    """Check everything that can be checked before writing; raise ApplicationError naming the field."""
    export_format = format_get(format)
    output_kind(out)
    if campaign.kind not in RECORDS:
        raise ApplicationError(
            f"Campaign '{campaign.name}' has task kind '{campaign.kind}', which no exporter reads yet.",
            {"field": "campaign"},
        )
    if export_format.kinds and campaign.kind not in export_format.kinds:
        readers = sorted(f.name for f in FORMATS.values() if not f.kinds or campaign.kind in f.kinds)
        raise ApplicationError(
            f"The {export_format.name} format reads {' and '.join(export_format.kinds)} campaigns; campaign "
            f"'{campaign.name}' is a {campaign.kind} campaign (its formats: {', '.join(readers)}).",
            {"field": "format"},
        )
    if options.expand_pairs and export_format.expanded is None:
        raise ApplicationError(
            f"--expand-pairs applies to --format ranking only, not {export_format.name}"
            " (dpo, rm and hh-rlhf read a ranking campaign as its consensus pairs already).",
            {"field": "expand_pairs"},
        )
    export_format.check(options, campaign.kind)
    _source_labels_check(options)
    _generators_check(options.generators)
    labeller_ids = _labeller_ids(options.exclude_labellers)
    excluded = {pk: "excluded by name" for pk in labeller_ids.values()}
    if options.exclude_below_gold_accuracy is not None:
        for pk, why in _below_gold_accuracy(campaign, options.exclude_below_gold_accuracy).items():
            excluded.setdefault(pk, why)
    plan = ExportPlan(
        campaign=campaign,
        format=export_format,
        options=options,
        out=out,
        selection=Selection(
            min_labels=options.min_labels,
            min_agreement=options.min_agreement,
            excluded_labeller_ids=frozenset(excluded),
            since=options.since_datetime,
            generators=frozenset(options.generators),
            source_labels=options.labels == "source",
            judge_labels=options.labels == "judge",
            judges=frozenset(_judges_chosen(campaign, options)),
            judge_order_inconsistent=options.judge_inconsistent,
            audit_trail=export_format.audit_trail,
        ),
        shape=_shape(campaign),
        excluded=excluded,
        labeller_ids=labeller_ids,
    )
    return replace(plan, plain_prompts_as_messages=_plain_prompts_as_messages(plan))


# The options that choose among labellers and their labels' times, which source and judge labels have not.
LABELLER_OPTIONS = ("exclude_labellers", "exclude_below_gold_accuracy", "since")
JUDGE_OPTIONS = ("judges", "judge_inconsistent")
WHOSE = {"source": "the imported datasets' own verdicts", "judge": "an AI judge's verdicts"}


def _flag(name: str) -> str:
    return next(option.flag for option in OPTIONS if option.name == name)


def _source_labels_check(options: ExportOptions) -> None:
    if options.labels != "judge":
        for name in JUDGE_OPTIONS:
            if getattr(options, name):
                raise ApplicationError(
                    f"{_flag(name)} chooses among AI judges' verdicts: it applies to --labels judge only.",
                    {"field": name},
                )
    if options.labels == "human":
        return
    for name in LABELLER_OPTIONS:
        if getattr(options, name) not in ((), None):
            raise ApplicationError(
                f"{_flag(name)} chooses among labellers' labels; --labels {options.labels} exports "
                f"{WHOSE[options.labels]}, which have no labeller. Leave it out, or export --labels human.",
                {"field": name},
            )


def _judges_chosen(campaign: Campaign, options: ExportOptions) -> list[str]:
    """--labels judge: the judges named, or the campaign's only judge; raise naming the problem."""
    if options.labels != "judge":
        return []
    judged = sorted(
        set(JudgeLabel.objects.filter(item__campaign=campaign).values_list("generator__name", flat=True))
    )
    if not judged:
        raise ApplicationError(
            f"No AI judge has judged campaign '{campaign.name}' yet: run judge_items first.",
            {"field": "labels"},
        )
    unknown = [name for name in options.judges if name not in judged]
    if unknown:
        raise ApplicationError(
            f"{', '.join(repr(name) for name in unknown)} did not judge campaign '{campaign.name}'; its judges: "
            f"{', '.join(judged)}.",
            {"field": "judges"},
        )
    if not options.judges and len(judged) > 1:
        raise ApplicationError(
            f"Several AI judges judged campaign '{campaign.name}' ({', '.join(judged)}): name the one to export "
            "with --judge.",
            {"field": "judges"},
        )
    return list(options.judges) or judged


def _labeller_ids(usernames: tuple[str, ...]) -> dict[str, int]:
    found = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
    missing = [name for name in usernames if name not in found]
    if missing:
        raise ApplicationError(
            f"No labeller named {', '.join(repr(name) for name in missing)}.", {"field": "exclude_labellers"}
        )
    return found


def _below_gold_accuracy(campaign: Campaign, threshold: float) -> dict[int, str]:
    """The labellers whose accuracy on the campaign's gold items is below the threshold, with why."""
    scored = (
        Label.objects.filter(item__campaign=campaign, gold_correct__isnull=False)
        .values("labeller_id")
        .annotate(scored=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True)))
    )
    below = {}
    for row in scored:
        accuracy = row["correct"] / row["scored"]
        if accuracy < threshold:
            below[row["labeller_id"]] = (
                f"gold accuracy {accuracy:.0%} below {threshold:.0%}, {row['scored']} gold labels"
            )
    return below


def _generators_check(names: tuple[str, ...]) -> None:
    known = set(Generator.objects.filter(name__in=names).values_list("name", flat=True))
    missing = [name for name in names if name not in known]
    if missing:
        every = ", ".join(Generator.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise ApplicationError(
            f"No generator named {', '.join(repr(n) for n in missing)} (known: {every}).",
            {"field": "generators"},
        )


def _exported_prompts(campaign: Campaign) -> QuerySet[Prompt]:
    """The prompts of the campaign's items: its own, or those of the campaign it judges (--source-campaign)."""
    return Prompt.objects.filter(items__campaign=campaign)


def _shape(campaign: Campaign) -> Shape:
    """One shape per export: conversational as soon as one prompt is chat messages, every row alike."""
    chat = _exported_prompts(campaign).filter(messages__isnull=False).exists()
    return Shape(conversational=chat, kind=campaign.kind, criteria=tuple(campaign.criteria))


def _plain_prompts_as_messages(plan: ExportPlan) -> int:
    """How many plain-text prompts a conversational export writes as one user message each."""
    if not plan.shape.conversational or TEXT_OR_MESSAGES not in plan.rows_format.columns.values():
        return 0
    return _exported_prompts(plan.campaign).filter(messages__isnull=True).values("pk").distinct().count()
