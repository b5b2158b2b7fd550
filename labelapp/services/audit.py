"""The audit log: one entry per admin write or export, in the same transaction as the write it records."""

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from labelapp.models import AuditEntry

COMMAND_LINE = "command line"


def _json_safe(value: Any) -> Any:
    """Dates, decimals and UUIDs as the admin shows them, so any field value can be stored as JSON."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def row_snapshot(row: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A row's stored values (foreign keys as ids), for the fields named or all of them."""
    concrete = [field for field in row._meta.concrete_fields if fields is None or field.name in fields]
    return _json_safe({field.name: field.value_from_object(row) for field in concrete})


@transaction.atomic
def audit_record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_ids: Iterable[Any],
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that `actor` (None: the command line) did `action` to the `target_type` rows `target_ids`."""
    entry = AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None else COMMAND_LINE,
        action=action,
        target_type=target_type,
        target_ids=_json_safe(list(target_ids)),
        detail=_json_safe(detail or {}),
    )
    entry.full_clean()
    entry.save()
    return entry
