"""Output formats, one module each, each making rows from the records `labelapp.selectors.records` reads.

A format module defines FORMAT (labelapp.exporters.format.Format): its columns and their types, a
`rows(records, options)` generator of rows, what the dataset card's label distribution counts, and
optionally a check of the options. Adding a format is one module plus one line here; adding a task kind is
one records iterator in `selectors.records.RECORDS` (and its label value type in `columns.LABEL_VALUES`);
adding an option is one field of `options.ExportOptions`.
"""

from labelapp.errors import ApplicationError
from labelapp.exporters import dpo, hh_rlhf, kto, ranking, raw, rm, setwise
from labelapp.exporters.format import Format
from labelapp.exporters.options import OPTIONS, Option

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (dpo.FORMAT, rm.FORMAT, kto.FORMAT, hh_rlhf.FORMAT, setwise.FORMAT, ranking.FORMAT, raw.FORMAT)
}


def format_get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown export format '{name}'. Allowed: {', '.join(sorted(FORMATS))}.", {"field": "format"}
        ) from None


def options_for(kind: str) -> tuple[Option, ...]:
    """The options that change an export of a campaign of this task kind, in one of the formats reading it."""
    readers = {f.name for f in FORMATS.values() if not f.kinds or kind in f.kinds}
    return tuple(
        option
        for option in OPTIONS
        if (not option.kinds or kind in option.kinds)
        and (not option.formats or readers & set(option.formats))
    )
