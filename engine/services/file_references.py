"""The file references in a completed task's data checked against the evidence store: each
must name a file stored for that very task, as it was stored (``engine.file_inputs``).

``complete_task`` calls ``check_references`` after the form's own validation, so a client
cannot hand a task someone else's file, or a file under another name or digest, by writing
a reference of its own."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..file_inputs import file_fields
from ..models import Evidence

__all__ = ["check_references"]


def _references(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def check_references(uow: UnitOfWork, task_id: uuid.UUID, schema: dict[str, Any] | None,
                     data: dict[str, Any]) -> None:
    """``ValidationFailed`` at each file input whose reference is not one of the task's
    stored files exactly (``schema``: the normalised form)."""
    given = {name: _references(data.get(name)) for name in file_fields(schema)}
    ids = {r.get("id") for refs in given.values() for r in refs if isinstance(r, dict)}
    if not ids:
        return
    rows = {row.id: row for row in uow.session.scalars(
        select(Evidence).where(Evidence.task_id == task_id,
                               Evidence.id.in_([i for i in ids if isinstance(i, int)])))}
    errors: dict[str, object] = {}
    for name, refs in given.items():
        for ref in refs:
            row = rows.get(ref.get("id", -1)) if isinstance(ref, dict) else None
            if row is None or (ref.get("name"), ref.get("size"), ref.get("sha256"),
                               ref.get("media_type")) != (row.filename, row.size, row.sha256,
                                                          row.content_type):
                errors[name] = ["not a file of this task"]
    if errors:
        raise ValidationFailed("file references that are not this task's files in: "
                               + ", ".join(sorted(errors)), errors)
