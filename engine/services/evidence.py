"""Evidence files attached to a task: checked, stored by content hash, handed out only to
those who may see the task.

A file is accepted only if

- its name is a plain file name (no directories, no ``..``, no control or reserved
  characters, not hidden) whose extension matches its type;
- its type, read from the content's signature, is PDF, PNG, JPEG, or a Word (DOCX) or Excel
  (XLSX) document (a zip archive holding the matching main part); what the upload claims to
  be is ignored;
- it is not empty and at most ``max_bytes`` long.

It is stored as ``<store>/<sha256>`` — outside the web root, never under a name a user
chose — and recorded with the task, the uploader, the time, its name and its digest. The
same content uploaded twice is stored once.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import select

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import NotFound, ValidationFailed
from ..models import Evidence, HumanTask
from . import clock, task_access
from .tasks import get_task, view_task

__all__ = ["KINDS", "MAX_NAME", "add_evidence", "attach_evidence", "check_file",
           "check_filename", "evidence_file", "list_evidence", "sniff"]

#: kind -> (content type, extensions it may be named with).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (".docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
}
MAX_NAME = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Characters no file name needs: path separators, Windows' reserved ones, controls.
_BAD_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]")
_ZIP_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


def sniff(content: bytes) -> str | None:
    """The kind of file ``content`` is (a key of ``KINDS``) by its signature, or None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(b"PK\x03\x04"):
        return _office_kind(content)
    return None


def _office_kind(content: bytes) -> str | None:
    """DOCX or XLSX: a zip whose directory lists [Content_Types].xml and the main part.
    Only the directory is read; nothing is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    found = [kind for kind, part in _ZIP_PARTS.items() if part in names]
    return found[0] if len(found) == 1 else None


def check_filename(name: str | None) -> str:
    """The name, normalized (NFC, surrounding spaces removed), or ``ValidationFailed``."""
    clean = unicodedata.normalize("NFC", (name or "").strip())
    problem = None
    if not clean:
        problem = "a file name is needed"
    elif len(clean) > MAX_NAME:
        problem = f"a file name has at most {MAX_NAME} characters"
    elif _BAD_NAME.search(clean) or clean.startswith(".") or ".." in clean:
        problem = "the file name may not contain directories, '..' or special characters"
    if problem:
        raise ValidationFailed(problem, {"file": ["bad name"]})
    return clean


def _kind_of(filename: str, content: bytes, max_bytes: int) -> str:
    if not content:
        raise ValidationFailed("the file is empty", {"file": ["empty"]})
    if len(content) > max_bytes:
        raise ValidationFailed(f"the file has {len(content)} bytes; at most {max_bytes} are "
                               "accepted", {"file": ["too large"]})
    kind = sniff(content)
    if kind is None:
        raise ValidationFailed("only PDF, PNG, JPEG, Word (.docx) and Excel (.xlsx) files "
                               "are accepted", {"file": ["type not accepted"]})
    if not filename.lower().endswith(KINDS[kind][1]):
        raise ValidationFailed(f"the file is a {kind.upper()} file but is named "
                               f"'{filename}'", {"file": ["name does not match content"]})
    return kind


def _store(store: Path, digest: str, content: bytes) -> None:
    """Write ``content`` as ``store/digest`` unless it is there: through a temporary file
    in the same directory, so a reader never sees half a file."""
    store.mkdir(parents=True, exist_ok=True)
    target = store / digest
    if target.exists():
        return
    fd, temporary = tempfile.mkstemp(dir=store, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def attach_evidence(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor, filename: str,
                    content: bytes, *, store: Path, max_bytes: int) -> Evidence:
    """Check and keep a file for the open task; ``actor`` must be able to work on it
    (``task_access.may_work_on``)."""
    task = get_task(uow, task_id)
    task_access.require_workable(task, actor,
                                 f"{actor.user} may not attach files to task {task.id}")
    name, kind = check_file(filename, content, max_bytes)
    row = add_evidence(uow, task, actor, name, kind, content, store=store)
    uow.commit()
    return row


def check_file(filename: str, content: bytes, max_bytes: int) -> tuple[str, str]:
    """``(normalized name, kind)`` of a file the store accepts, else ``ValidationFailed``
    keyed ``file`` — checked before anything is written, so a caller storing several files
    can check them all first."""
    name = check_filename(filename)
    return name, _kind_of(name, content, max_bytes)


def add_evidence(uow: UnitOfWork, task: HumanTask, actor: Actor, name: str, kind: str,
                 content: bytes, *, store: Path) -> Evidence:
    """Store a checked file (``check_file``) and record it with the task, uncommitted (the
    caller's transaction decides); the row has its id."""
    digest = hashlib.sha256(content).hexdigest()
    _store(store, digest, content)
    row = Evidence(task_id=task.id, instance_id=task.instance_id, post_code=task.post_code,
                   filename=name, content_type=KINDS[kind][0], size=len(content),
                   sha256=digest, uploaded_by=actor.user, uploaded_at=clock.now(uow))
    uow.session.add(row)
    uow.session.flush()
    return row


def list_evidence(uow: UnitOfWork, task: HumanTask) -> list[Evidence]:
    """The task's files, oldest first (the caller has checked the task may be seen)."""
    return list(uow.session.scalars(select(Evidence).where(Evidence.task_id == task.id)
                                    .order_by(Evidence.id)))


def evidence_file(uow: UnitOfWork, task_id: uuid.UUID | str, evidence_id: int, actor: Actor,
                  *, store: Path) -> tuple[Evidence, Path]:
    """The record and the stored file of one of the task's files, if ``actor`` may see the
    task (``view_task``); ``NotFound`` if it is not this task's or its file is gone."""
    task = view_task(uow, task_id, actor)
    row = uow.session.get(Evidence, evidence_id)
    if row is None or row.task_id != task.id:
        raise NotFound(f"task {task.id} has no file {evidence_id}")
    if not _SHA256.match(row.sha256):
        raise NotFound(f"file {evidence_id} has no valid digest")
    path = store / row.sha256
    if not path.is_file():
        raise NotFound(f"the content of file {evidence_id} is missing from the store")
    return row, path
