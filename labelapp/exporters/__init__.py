"""One module per output format; each turns aggregated records into rows."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.exporters import dpo
from labelapp.exporters.records import PairwiseRecord

RowWriter = Callable[[Iterable[PairwiseRecord]], Iterator[dict[str, Any]]]
FORMATS: dict[str, RowWriter] = {"dpo": dpo.rows}


def format_rows(name: str) -> RowWriter:
    try:
        return FORMATS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown export format '{name}'. Allowed: {', '.join(sorted(FORMATS))}.", {"field": "format"}
        ) from None
