"""Files sent through a task form's file inputs (``format: data-url``, ``engine.file_inputs``)
put into the evidence store, and the references the task data keeps in their place.

Two ways in, one way through: the task page posts the files themselves (``store_files``),
an API client posts rjsf's data-urls in the task data (``store_data_urls``). Either way
every file is checked first — the store's own rules (``evidence.check_file``: name, size,
type read from the content), the field's ``ui:options.accept`` and how many files the field
takes — and only when all pass are they stored, recorded as evidence of the task and
committed together. A refused file is refused at its field with nothing stored. The task is
then completed with the references (``tasks.complete_task``, which checks each is a file of
that task: ``file_references``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..file_inputs import FileField, NotADataUrl, accepts, decode, file_fields, is_reference
from ..models import Evidence, HumanTask
from . import evidence, task_access
from .task_forms import task_form
from .tasks import get_task

__all__ = ["reference", "store_data_urls", "store_files"]

#: (file name, content) of one file sent.
Sent = tuple[str, bytes]


def reference(row: Evidence) -> dict[str, Any]:
    """What task data keeps of a stored file."""
    return {"id": row.id, "name": row.filename, "size": row.size, "sha256": row.sha256,
            "media_type": row.content_type}


def _has_data_url(data: dict[str, Any]) -> bool:
    """Whether a top-level value (or a list item) is a data-url: file inputs sit only there."""
    def is_url(value: object) -> bool:
        return isinstance(value, str) and value.startswith("data:")
    return any(is_url(v) or (isinstance(v, list) and any(is_url(i) for i in v))
               for v in data.values())


def _workable(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor
              ) -> tuple[HumanTask, dict[str, FileField]]:
    task = get_task(uow, task_id)
    task_access.require_workable(task, actor,
                                 f"{actor.user} may not attach files to task {task.id}")
    form = task_form(uow, task)
    return task, file_fields(form.schema, form.ui_schema)


def _check(field: FileField | None, sent: list[Sent], kept: int, max_bytes: int
           ) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """The files of one field checked: ``(name, kind, content)`` each, and the reasons
    refused (``not a file input``, ``one file only``, ``too many files``, the store's
    reasons, ``type not accepted here``)."""
    if field is None:
        return [], ["not a file input"]
    if not field.multiple and len(sent) > 1:
        return [], ["one file only"]
    if field.max_items is not None and kept + len(sent) > field.max_items:
        return [], ["too many files"]
    checked: list[tuple[str, str, bytes]] = []
    reasons: list[str] = []
    for filename, content in sent:
        try:
            name, kind = evidence.check_file(filename, content, max_bytes)
        except ValidationFailed as exc:
            given = exc.errors.get("file")
            reasons.extend(map(str, given) if isinstance(given, list) else
                           ["type not accepted"])
            continue
        if not accepts(field.accept, name, evidence.KINDS[kind][0]):
            reasons.append("type not accepted here")
            continue
        checked.append((name, kind, content))
    return checked, reasons


def _store(uow: UnitOfWork, task: HumanTask, actor: Actor, fields: dict[str, FileField],
           sent: Mapping[str, list[Sent]], kept: Mapping[str, int], *, store: Path,
           max_bytes: int) -> dict[str, list[dict[str, Any]]]:
    checked: dict[str, list[tuple[str, str, bytes]]] = {}
    errors: dict[str, object] = {}
    for name, files in sent.items():
        checked[name], reasons = _check(fields.get(name), files, kept.get(name, 0), max_bytes)
        if reasons:
            errors[name] = reasons
    if errors:
        raise ValidationFailed("files refused in: " + ", ".join(sorted(errors)), errors)
    stored = {name: [reference(evidence.add_evidence(uow, task, actor, file_name, kind,
                                                     content, store=store))
                     for file_name, kind, content in files]
              for name, files in checked.items()}
    uow.commit()
    return stored


def store_files(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor,
                sent: Mapping[str, list[Sent]], *, kept: Mapping[str, int] | None = None,
                store: Path, max_bytes: int) -> dict[str, list[dict[str, Any]]]:
    """Store the files sent to the task's file inputs (input name -> files); their
    references by input. ``kept``: how many files an input of several already holds (its
    ``maxItems`` counts them too). ``ValidationFailed`` (keyed by input) stores nothing."""
    task, fields = _workable(uow, task_id, actor)
    return _store(uow, task, actor, fields, {k: v for k, v in sent.items() if v},
                  kept or {}, store=store, max_bytes=max_bytes)


def _decoded(value: Any, max_bytes: int) -> tuple[list[Sent], list[str]]:
    """The data-urls among a field's value(s) decoded; references are left alone."""
    items = value if isinstance(value, list) else [value]
    sent: list[Sent] = []
    reasons: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        try:
            sent.append(decode(item, max_bytes))
        except NotADataUrl as exc:
            reasons.append(str(exc))
    return sent, reasons


def store_data_urls(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor, data: Any, *,
                    store: Path, max_bytes: int) -> Any:
    """``data`` with every rjsf data-url in a file input stored and replaced by its
    reference (an API client completing a task as rjsf would); nothing stored if one is
    refused. Data without data-urls comes back as it was."""
    if not isinstance(data, dict) or not _has_data_url(data):
        return data  # nothing to store: complete_task alone says who may act
    task, fields = _workable(uow, task_id, actor)
    sent: dict[str, list[Sent]] = {}
    errors: dict[str, object] = {}
    kept: dict[str, int] = {}
    for name in fields:
        value = data.get(name)
        sent[name], reasons = _decoded(value, max_bytes)
        kept[name] = sum(1 for v in value if is_reference(v)) if isinstance(value, list) else 0
        if reasons:
            errors[name] = reasons
    if errors:
        raise ValidationFailed("files refused in: " + ", ".join(sorted(errors)), errors)
    if not any(sent.values()):
        return data
    stored = _store(uow, task, actor, fields, {k: v for k, v in sent.items() if v}, kept,
                    store=store, max_bytes=max_bytes)
    out = dict(data)
    for name, references in stored.items():
        value = data[name]
        if fields[name].multiple:
            refs = iter(references)
            out[name] = [next(refs) if isinstance(v, str) else v for v in value]
        else:
            out[name] = references[0]
    return out
