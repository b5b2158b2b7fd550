"""What an export is asked for: filters, aggregation thresholds, split and format switches.

Each option is declared once, as a field of `ExportOptions`: its type, default, bounds, help, command-line
flag, form label, the formats it applies to and how the dataset card says it. Everything else is made from
those declarations (`OPTIONS`): the command's flags, the API's serializer, the manage page's form,
`export_options_parse` (which all three go through, and which names the field of any bad value), and the
card's settings in words and its reproducible command (`labelapp.selectors.exports.ExportPlan`).
"""

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from labelapp.errors import ApplicationError
from labelapp.kinds import correctness, pairwise

T = TypeVar("T")

# What an option's value is.
NUMBER = "number"  # an int or a float (`cast`), within bounds
NAMES = "names"  # a list of names, each once
SWITCH = "switch"  # true or false; on the command line a flag without a value
MOMENT = "moment"  # an ISO date or date-time, kept as given
CHOICE = "choice"  # one of `choices`, by name

# How the manage page's form asks for a list of names.
TYPED = "typed"  # typed in one box, separated by commas or spaces
GENERATOR_CHOICE = "generators"  # chosen among the generators
CAMPAIGN_KIND = "campaign_kind"  # not asked: the campaign's own task kind, for the formats it applies to


@dataclass(frozen=True)
class Option:
    kind: str  # NUMBER, NAMES, SWITCH or MOMENT
    flag: str  # the command line's spelling; "{}" stands for each of `choices` (one flag each)
    help: str  # one sentence: the command's --help, the API's schema, the form's tooltip
    label: str = ""  # the form's label; empty: not on the form
    cast: type = str  # NUMBER: int or float
    low: float | None = None  # NUMBER: the smallest value allowed
    high: float | None = None  # NUMBER: the largest value allowed
    below: float | None = None  # NUMBER: values must be below this
    choices: Mapping[str, str] = field(
        default_factory=dict
    )  # NAMES, CHOICE: the allowed names, each with its help
    formats: tuple[str, ...] = ()  # the formats it applies to; empty: every format
    kinds: tuple[str, ...] = ()  # the task kinds of the campaigns it applies to; empty: every kind
    metavar: str | None = None  # the command's --help: what the value is
    form: str = TYPED  # NAMES: TYPED, GENERATOR_CHOICE or CAMPAIGN_KIND
    placeholder: str = ""  # the form's hint; NUMBER: its default unless given
    # The card's line while the value differs from the default, and while it is the default (an empty
    # line is left out). "{value}" is the value in words; "{options.seed}" another option's value.
    words: str = ""
    words_at_default: str = ""
    private: bool = False  # names of people: the card and a shared command show them by pseudonym
    choice_words: Mapping[str, str] = field(default_factory=dict)  # CHOICE: a choice as "{value}" says it
    name: str = ""  # the field's name, filled in by OPTIONS
    default: Any = None  # the field's default, filled in by OPTIONS

    @property
    def step(self) -> str:
        """NUMBER: the form's step between values."""
        return "1" if self.cast is int else "any"

    @property
    def flags(self) -> list[str]:
        """Every command-line flag of the option: one, or one per choice."""
        return [self.flag.format(choice) for choice in self.choices] if "{}" in self.flag else [self.flag]

    def applies_to(self, *, format: str, kind: str) -> bool:
        return (not self.formats or format in self.formats) and (not self.kinds or kind in self.kinds)

    def in_words(self, value: Any, options: "ExportOptions") -> str:
        template = self.words if value != self.default else self.words_at_default
        shown = ", ".join(value) if isinstance(value, tuple) else self.choice_words.get(value, value)
        return template.format(value=shown, options=options)


def _declared(default: T, kind: str, **declaration: Any) -> T:
    """A field of ExportOptions, its Option in the field's metadata."""
    return field(default=default, metadata={"option": Option(kind, **declaration)})


@dataclass(frozen=True)
class ExportOptions:
    min_labels: int = _declared(
        1,
        NUMBER,
        cast=int,
        low=1,
        flag="--min-labels",
        help="Leave out items with fewer labels (default 1).",
        label="Min labels per item",
        words="Items with fewer than {value} labels left out.",
    )
    min_agreement: float = _declared(
        0.0,
        NUMBER,
        cast=float,
        low=0.0,
        high=1.0,
        flag="--min-agreement",
        help="Leave out items where fewer than this fraction of labels agree with the majority (0-1).",
        label="Min agreement",
        words="Items whose agreement is below {value} left out.",
    )
    exclude_labellers: tuple[str, ...] = _declared(
        (),
        NAMES,
        flag="--exclude-labeller",
        metavar="USERNAME",
        help="Leave out the labels of these labellers, by username.",
        label="Exclude labellers",
        placeholder="usernames",
        private=True,  # the card lists the labellers left out, by pseudonym (ExportPlan.excluded)
    )
    exclude_below_gold_accuracy: float | None = _declared(
        None,
        NUMBER,
        cast=float,
        low=0.0,
        high=1.0,
        flag="--exclude-below-gold-accuracy",
        metavar="X",
        help="Leave out the labels of labellers whose gold accuracy in this campaign is below X (0-1).",
        label="Exclude below gold accuracy",
        placeholder="keep all",
    )
    include_ties: bool = _declared(
        False,
        SWITCH,
        flag="--include-ties",
        help="Keep tied items as rows flagged tie=true (dpo, rm, hh-rlhf); never as two opposite pairs.",
        label="Keep ties (flagged)",
        formats=("dpo", "rm", "hh-rlhf"),
        kinds=(pairwise.NAME,),
        words="Ties: kept as rows flagged `tie: true`.",
        words_at_default="Ties: left out (no `--include-ties`).",
    )
    generators: tuple[str, ...] = _declared(
        (),
        NAMES,
        flag="--generator",
        metavar="NAME",
        help="Only items whose candidates all come from these generators.",
        label="Only generators",
        form=GENERATOR_CHOICE,
        words="Only items whose candidates all come from: {value}.",
    )
    since: str | None = _declared(
        None,
        MOMENT,
        flag="--since",
        help="Only labels given at or after this ISO date or date-time.",
        label="Labels since",
        words="Only labels given at or after {value}.",
    )
    test_fraction: float = _declared(
        0.0,
        NUMBER,
        cast=float,
        low=0.0,
        below=1.0,
        flag="--test-fraction",
        help="Put this fraction of prompts (all their rows) in a test split (0 <= F < 1).",
        label="Test fraction (by prompt)",
        placeholder="0: no split",
        words="Split by prompt content: test fraction {value} (on average), seed {options.seed}; "
        "all rows of a prompt are in one split.",
    )
    seed: int = _declared(
        0,
        NUMBER,
        cast=int,
        low=0,
        flag="--seed",
        help="Seed of the train/test split (default 0).",
        label="Split seed",
    )
    labels: str = _declared(
        "human",
        CHOICE,
        flag="--labels",
        metavar="WHOSE",
        choices={
            "human": "the labellers' labels (the default)",
            "source": "the imported datasets' own verdicts (source labels, from import_dataset), "
            "aggregated by the campaign's rule like human labels but never mixed with them",
            "judge": "an AI judge's verdicts (judge_items): an RLAIF dataset, never mixed with human labels",
        },
        help="Whose labels the rows hold: human (the default), source (the imported datasets' own "
        "verdicts) or judge (an AI judge's verdicts).",
        label="Labels",
        words="Labels: {value}, not human labels.",
        choice_words={
            "source": "the imported datasets' own verdicts (source labels)",
            "judge": "an AI judge's verdicts (RLAIF), each in the order labellers see the answers",
        },
    )
    judges: tuple[str, ...] = _declared(
        (),
        NAMES,
        flag="--judge",
        metavar="NAME",
        help="--labels judge: the generator whose verdicts to export, needed when several judged the "
        "campaign (several are aggregated like labellers).",
        label="Judges (labels: judge)",
        words="Judges: {value}.",
    )
    judge_inconsistent: bool = _declared(
        False,
        SWITCH,
        flag="--include-order-inconsistent",
        help="--labels judge: also export verdicts the judge did not repeat with the answers shown in "
        "reverse order (left out by default).",
        label="judge: keep order-inconsistent verdicts",
        words="Judge verdicts: also those the judge did not repeat with the answers in reverse order.",
    )
    kto_from: tuple[str, ...] = _declared(
        (),
        NAMES,
        flag="--kto-from-{}",
        choices={
            pairwise.NAME: "kto: pairwise winners become desirable rows, losers (and both-bad pairs) undesirable.",
            correctness.NAME: "kto: answers judged correct by the majority become desirable rows, incorrect "
            "ones undesirable (can't tell and split verdicts are left out).",
        },
        help="kto only: the label source, the campaign's task kind: pairwise or correctness.",
        formats=("kto",),
        form=CAMPAIGN_KIND,
        words="KTO rows from: {value} labels.",
    )
    expand_pairs: bool = _declared(
        False,
        SWITCH,
        flag="--expand-pairs",
        help="ranking only: write one dpo row (prompt, chosen, rejected) per consensus pair instead.",
        label="ranking: one dpo row per consensus pair",
        formats=("ranking",),
    )

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in vars(self).items()}

    @property
    def since_datetime(self) -> datetime.datetime | None:
        return _moment_parse(self.since, "since") if self.since else None


OPTIONS: tuple[Option, ...] = tuple(
    dataclasses.replace(f.metadata["option"], name=f.name, default=f.default)
    for f in dataclasses.fields(ExportOptions)
)


def _number(option: Option, raw: Any) -> Any:
    name = option.name
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = option.cast(raw)
        if option.cast is int and value != float(raw):
            raise ValueError
    except (TypeError, ValueError):
        raise ApplicationError(f"Field '{name}' must be a number, not {raw!r}.", {"field": name}) from None
    low, high = option.low, option.high
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApplicationError(f"Field '{name}' must be {bounds}, not {value}.", {"field": name})
    if option.below is not None and value >= option.below:
        raise ApplicationError(f"Field '{name}' must be below {option.below:g}.", {"field": name})
    return value


def _names(option: Option, raw: Any) -> tuple[str, ...]:
    name = option.name
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) and item for item in raw):
        raise ApplicationError(f"Field '{name}' must be a list of names.", {"field": name})
    unknown = [item for item in raw if option.choices and item not in option.choices]
    if unknown:
        raise ApplicationError(
            f"Field '{name}' takes {', '.join(option.choices)}, not {', '.join(unknown)}.", {"field": name}
        )
    return tuple(dict.fromkeys(raw))


def _switch(option: Option, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ApplicationError(f"Field '{option.name}' must be true or false.", {"field": option.name})
    return raw


def _choice(option: Option, raw: Any) -> str:
    if raw not in option.choices:
        raise ApplicationError(
            f"Field '{option.name}' takes {' or '.join(option.choices)}, not {raw!r}.", {"field": option.name}
        )
    return str(raw)


def _moment(option: Option, raw: Any) -> str:
    _moment_parse(str(raw), option.name)
    return str(raw)


def _moment_parse(raw: str, name: str) -> datetime.datetime:
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise ApplicationError(
            f"Field '{name}' must be an ISO date or date-time (2026-11-01 or 2026-11-01T09:00), not {raw!r}.",
            {"field": name},
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


PARSERS = {NUMBER: _number, NAMES: _names, SWITCH: _switch, MOMENT: _moment, CHOICE: _choice}


def export_options_parse(data: Mapping[str, Any]) -> ExportOptions:
    """Options from a mapping of field names (missing or None fields keep their defaults)."""
    known = {option.name: option for option in OPTIONS}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ApplicationError(
            f"Unknown export option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}.",
            {"field": unknown[0]},
        )
    parsed = {
        name: PARSERS[known[name].kind](known[name], raw) for name, raw in data.items() if raw is not None
    }
    return ExportOptions(**parsed)
