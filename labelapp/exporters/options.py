"""What an export is asked for: filters, aggregation thresholds, split and format switches.

One plain, JSON-serialisable value, parsed from the command line, the API and the manage page alike;
`export_options_parse` names the field of any bad value.
"""

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from labelapp.errors import ApplicationError


@dataclass(frozen=True)
class ExportOptions:
    min_labels: int = 1
    min_agreement: float = 0.0
    exclude_labellers: tuple[str, ...] = ()
    exclude_below_gold_accuracy: float | None = None
    include_ties: bool = False
    generators: tuple[str, ...] = ()
    since: str | None = None  # ISO date or datetime; only labels given at or after it count
    test_fraction: float = 0.0
    seed: int = 0
    kto_from: tuple[str, ...] = ()  # label sources of kto rows (see labelapp.exporters.kto.SOURCES)

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in vars(self).items()}

    @property
    def since_datetime(self) -> datetime.datetime | None:
        return _since_parse(self.since) if self.since else None


def _number(data: Mapping[str, Any], name: str, cast: type, low: float, high: float | None = None) -> Any:
    raw = data[name]
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = cast(raw)
        if cast is int and value != float(raw):
            raise ValueError
    except (TypeError, ValueError):
        raise ApplicationError(f"Field '{name}' must be a number, not {raw!r}.", {"field": name}) from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApplicationError(f"Field '{name}' must be {bounds}, not {value}.", {"field": name})
    return value


def _names(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    raw = data[name]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) and item for item in raw):
        raise ApplicationError(f"Field '{name}' must be a list of names.", {"field": name})
    return tuple(dict.fromkeys(raw))


def _since_parse(raw: str) -> datetime.datetime:
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise ApplicationError(
            f"Field 'since' must be an ISO date or date-time (2026-11-01 or 2026-11-01T09:00), not {raw!r}.",
            {"field": "since"},
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


def export_options_parse(data: Mapping[str, Any]) -> ExportOptions:
    """Options from a mapping of field names (missing or None fields keep their defaults)."""
    known = {f.name for f in dataclasses.fields(ExportOptions)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ApplicationError(
            f"Unknown export option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}.",
            {"field": unknown[0]},
        )
    given = {key: value for key, value in data.items() if value is not None}
    parsed: dict[str, Any] = {}
    if "min_labels" in given:
        parsed["min_labels"] = _number(given, "min_labels", int, 1)
    for name in ("min_agreement", "exclude_below_gold_accuracy"):
        if name in given:
            parsed[name] = _number(given, name, float, 0.0, 1.0)
    if "test_fraction" in given:
        parsed["test_fraction"] = _number(given, "test_fraction", float, 0.0, 1.0)
        if parsed["test_fraction"] == 1.0:
            raise ApplicationError("Field 'test_fraction' must be below 1.", {"field": "test_fraction"})
    if "seed" in given:
        parsed["seed"] = _number(given, "seed", int, 0)
    for name in ("exclude_labellers", "generators", "kto_from"):
        if name in given:
            parsed[name] = _names(given, name)
    if "include_ties" in given:
        if not isinstance(given["include_ties"], bool):
            raise ApplicationError("Field 'include_ties' must be true or false.", {"field": "include_ties"})
        parsed["include_ties"] = given["include_ties"]
    if "since" in given:
        _since_parse(str(given["since"]))
        parsed["since"] = str(given["since"])
    return ExportOptions(**parsed)
