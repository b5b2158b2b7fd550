"""A checked export request: what `labelapp.selectors.exports.export_plan` makes of the options asked for.

The plan is all the writing needs, and nothing is left to validate: the parts runner reads its records by
its selection and hands them to its format. Its command and settings in words, shown on the dataset card,
are made from the option declarations (`labelapp.exporters.options.OPTIONS`).
"""

import shlex
from dataclasses import dataclass
from pathlib import Path

from labelapp.exporters.columns import Shape
from labelapp.exporters.format import Format, RowOptions
from labelapp.exporters.options import MOMENT, NAMES, NUMBER, OPTIONS, SWITCH, ExportOptions, Option
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.exporters.records import AGGREGATION_IN_WORDS, Selection
from labelapp.kinds import ranking
from labelapp.models import Campaign

PAIR_FORMATS = {"dpo", "rm", "hh-rlhf"}  # the formats whose rows are preference pairs (exporters.pairs)


@dataclass(frozen=True)
class ExportPlan:
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
        if option.kind in {NUMBER, MOMENT}:
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
