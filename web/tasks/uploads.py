"""Reading an evidence upload within its limits, and saying why one was refused.

The limit (``IRPM_MAX_EVIDENCE_BYTES``, 10 MB by default) is enforced twice: a task page's
POST may not be larger than the limit plus room for the form (``request_limit``, set before
anything reads the body, so an oversized request is refused unread), and the file itself is
read no further than one byte past the limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from engine.errors import ValidationFailed

from ..limits import size_text

#: Room for the form's other fields next to the file.
FORM_ROOM = 1024 * 1024


def max_bytes() -> int:
    return int(current_app.config["IRPM_MAX_EVIDENCE_BYTES"])


def store() -> Path:
    return Path(current_app.config["IRPM_EVIDENCE_DIR"])


def request_limit() -> int:
    return max_bytes() + FORM_ROOM


def read(upload: FileStorage) -> bytes:
    """The file's bytes, at most one past the limit (the service refuses that)."""
    return upload.stream.read(max_bytes() + 1)


def too_large() -> str:
    return _("The file is larger than %(size)s and was not attached.",
             size=size_text(max_bytes()))


def refusal(exc: ValidationFailed, filename: str | None) -> str:
    """Why ``engine.services.evidence`` refused a file, in the user's language."""
    reasons: Any = exc.errors.get("file") or []
    return reason_text(reasons[0] if reasons else "", filename)


def field_refusals(exc: ValidationFailed) -> dict[str, list[str]]:
    """Why ``engine.services.file_inputs`` refused the files of a form's file inputs, by
    input, in the user's language."""
    out: dict[str, list[str]] = {}
    for name, reasons in exc.errors.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            text = reason_text(str(reason), None)
            if text not in out.setdefault(str(name), []):
                out[str(name)].append(text)
    return out


def reason_text(reason: str, filename: str | None) -> str:
    """One reason code of the evidence services, in the user's language."""
    if reason == "one file only":
        return _("Choose one file only.")
    if reason == "too many files":
        return _("Too many files for this field.")
    if reason == "type not accepted here":
        return _("This field does not take files of this type.")
    if reason == "too large":
        return too_large()
    if reason == "empty":
        return _("The file is empty.")
    if reason == "bad name":
        return _("The file name may not contain folders or special characters.")
    if reason == "name does not match content":
        if filename is None:
            return _("The content of a file does not match its name.")
        return _("The content of “%(name)s” does not match its name.", name=filename)
    return _("Only PDF, PNG, JPEG, Word (.docx) and Excel (.xlsx) files can be attached.")
