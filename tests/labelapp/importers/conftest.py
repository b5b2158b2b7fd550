"""Helpers for the import tests: the hand-written files under files/, in their published shapes, copied
into other containers by the real libraries (pyarrow's Parquet writer, `datasets`' save_to_disk)."""

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from labelapp.models import Campaign, Item, SourceLabel

FILES = Path(__file__).parent / "files"


def records(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FILES / name).read_text().splitlines() if line.strip()]


def columns(name: str) -> dict[str, list[Any]]:
    """The file's records as columns, every key of every record (a record without one holds null), as
    Arrow stores them."""
    rows = records(name)
    keys = dict.fromkeys(key for row in rows for key in row)
    return {key: [row.get(key) for row in rows] for key in keys}


def parquet_copy(name: str, folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / Path(name).with_suffix(".parquet").name
    pq.write_table(pa.Table.from_pydict(columns(name)), path, row_group_size=2)
    return path


def saved_dataset(name: str, folder: Path) -> Path:
    """The file as a folder `datasets` wrote with Dataset.save_to_disk."""
    from datasets import Dataset

    path = folder / Path(name).stem
    Dataset.from_dict(columns(name)).save_to_disk(str(path))
    return path


def import_file(path: Path, campaign: Campaign, format: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(
        "import_dataset",
        str(path),
        campaign=campaign.name,
        format=format,
        stdout=out,
        stderr=io.StringIO(),
        **options,
    )
    return out.getvalue()


@dataclass(frozen=True)
class ImportedItem:
    """An item as a test reads it: its prompt, answers in canonical order with their models, where each
    is shown, and the dataset's verdict on it."""

    prompt: str | list[dict[str, str]]
    answers: tuple[str, ...]
    models: tuple[str, ...]
    positions: tuple[int, ...]
    source_value: dict[str, Any] | None
    source_raw: dict[str, Any] | None


def imported_items(campaign: Campaign) -> list[ImportedItem]:
    found = []
    for item in Item.objects.filter(campaign=campaign).select_related("prompt").order_by("id"):
        slots = list(item.slots.select_related("candidate__generator").order_by("index"))
        label = SourceLabel.objects.filter(item=item).first()
        found.append(
            ImportedItem(
                prompt=item.prompt.messages if item.prompt.messages is not None else item.prompt.text,
                answers=tuple(slot.candidate.text for slot in slots),
                models=tuple(slot.candidate.generator.name for slot in slots),
                positions=tuple(slot.position for slot in slots),
                source_value=label.value if label else None,
                source_raw=label.raw if label else None,
            )
        )
    return found


def preferred(item: ImportedItem) -> str:
    """The text a pairwise source label prefers."""
    return item.answers["ab".index(item.source_value["choice"])]


@pytest.fixture
def campaign_of(db):
    def make(kind: str, name: str | None = None) -> Campaign:
        return Campaign.objects.create(name=name or kind, kind=kind)

    return make
