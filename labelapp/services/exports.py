import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labelapp.errors import ApplicationError
from labelapp.exporters import format_rows
from labelapp.exporters.records import pairwise_records
from labelapp.models import Campaign, Export
from labelapp.services.audit import audit_record


def _jsonl_write_atomic(rows: Iterable[dict[str, Any]], out: Path) -> int:
    """Write rows to a temp file beside `out`, then rename: readers never see half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, out)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return count


def dataset_export(
    *,
    campaign: Campaign,
    format: str,
    out: Path,
    min_labels: int = 1,
    created_by: AbstractBaseUser | None = None,
) -> Export:
    writer = format_rows(format)
    if out.suffix != ".jsonl":
        raise ApplicationError(f"{out}: only .jsonl output is supported for now.", {"field": "out"})
    if min_labels < 1:
        raise ApplicationError("min_labels must be at least 1.", {"field": "min_labels"})
    row_count = _jsonl_write_atomic(writer(pairwise_records(campaign=campaign, min_labels=min_labels)), out)
    with transaction.atomic():
        export = Export.objects.create(
            campaign=campaign,
            format=format,
            path=str(out.resolve()),
            rows=row_count,
            options={"min_labels": min_labels, "argv": sys.argv},
            created_by=created_by,
        )
        audit_record(
            actor=created_by,
            action="export.create",
            target_type="export",
            target_ids=[export.pk],
            detail={"campaign": campaign.name, "format": format, "path": export.path, "rows": row_count},
        )
    return export
