"""The task page (/tasks/<id>): the task's form, generated from the ``formSchema`` its BPMN
element declares and validated by the engine on submit, with drafts, evidence files for
discovery forms, and the context beside it — the post and its register, the instance's
history, the process diagram with the current step highlighted.

Only someone who may see the task (``tasks.view_task``) gets the page or anything under
it; anyone else gets 403, whatever the URL they typed.

Evidence files are kept in ``IRPM_EVIDENCE_DIR`` (named by sha256; not served as static
files), at most ``IRPM_MAX_EVIDENCE_BYTES`` each: settings of ``web.config``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from engine.file_inputs import is_reference

from ..labels import TABLES as LABELS
from ..limits import size_text
from .labels import TABLES

bp = Blueprint("tasks", __name__, url_prefix="/tasks", template_folder="templates")


def file_references(data: Any) -> list[dict[str, Any]]:
    """The references to stored files (``engine.file_inputs``) among a completed task's
    data — a field's value or the items of a list — for a history to link them."""
    values = data.values() if isinstance(data, dict) else []
    found: list[dict[str, Any]] = []
    for value in values:
        found.extend(v for v in (value if isinstance(value, list) else [value])
                     if is_reference(v))
    return found


def init_app(app: Flask) -> None:
    from . import views  # noqa: F401  (register the routes on bp)

    app.jinja_env.filters.setdefault("filesize", size_text)
    app.jinja_env.filters.setdefault("file_references", file_references)
    for name, table in TABLES.items():
        LABELS.setdefault(name, table)
    app.register_blueprint(bp)
