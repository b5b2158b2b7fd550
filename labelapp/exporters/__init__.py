"""Output formats, one module each, all reading the records iterators in `records`.

A format module defines FORMAT (labelapp.exporters.format.Format): its columns and their types, a
`rows(context)` generator of rows, what the dataset card's label distribution counts, and optionally a
check of the options. Adding a format is one module plus one line here; adding a task kind is one
records iterator in `records.RECORDS` (and its label value type in `columns.LABEL_VALUES`).
"""

from labelapp.errors import ApplicationError
from labelapp.exporters import dpo, hh_rlhf, kto, raw, rm
from labelapp.exporters.format import Format

FORMATS: dict[str, Format] = {
    f.name: f for f in (dpo.FORMAT, rm.FORMAT, kto.FORMAT, hh_rlhf.FORMAT, raw.FORMAT)
}


def format_get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown export format '{name}'. Allowed: {', '.join(sorted(FORMATS))}.", {"field": "format"}
        ) from None
