"""GET /healthz: is the database reachable and migrated, and what does the engine hold?

Public and cheap enough to poll: a handful of aggregate queries in one read unit of work.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from engine.migrate import alembic_config, current_revision
from engine.models import ProcessDefinition, ProcessInstance
from engine.runtime import Runtime
from engine.services import clock

from .access import public

bp = Blueprint("health", __name__)


def head_revision(engine: Engine) -> str | None:
    """The newest migration this code ships (what ``irpm db upgrade`` moves to)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    return _head_of(config.get_main_option("script_location") or "")


@cache
def _head_of(script_location: str) -> str | None:
    """Read once per process: finding the head imports every migration script (about a
    tenth of a second, paid by every app built — each web test builds one), and the scripts
    do not change under a running process (new code means a new process)."""
    return ScriptDirectory(script_location).get_current_head()


def database_problem(exc: SQLAlchemyError) -> str:
    """One line saying what went wrong, without the SQL statement or parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return " ".join((text[0] if text else type(exc).__name__).split())


def _unhealthy(reason: str, **fields: Any) -> tuple[dict[str, Any], int]:
    return {"status": "error", **fields, "reason": reason}, 503


@bp.get("/healthz")
@public
def healthz() -> tuple[dict[str, Any], int]:
    rt: Runtime = current_app.extensions["irpm"]
    try:
        revision = current_revision(rt.db)
    except SQLAlchemyError as exc:
        return _unhealthy(f"database unreachable: {database_problem(exc)}", database="error")
    head = current_app.config["IRPM_SCHEMA_HEAD"]
    if revision != head:
        reason = ("database is not migrated" if revision is None
                  else f"database schema is at {revision}, this code needs {head}")
        return _unhealthy(f"{reason}; run `irpm db upgrade`", database="ok", schema=revision)
    try:
        return _report(rt, revision), 200
    except SQLAlchemyError as exc:
        return _unhealthy(f"database query failed: {database_problem(exc)}", database="error",
                          schema=revision)


def _report(rt: Runtime, revision: str | None) -> dict[str, Any]:
    with rt.uow(write=False) as uow:
        definitions = uow.session.scalar(select(func.count()).select_from(ProcessDefinition))
        by_status = uow.session.execute(
            select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status))
        return {
            "status": "ok",
            "database": "ok",
            "schema": revision,
            "definitions": definitions or 0,
            "instances": {status: count for status, count in by_status},
            "clock": {"simulated": clock.is_simulated(uow),
                      "now": clock.now(uow).isoformat()},
        }


def init_app(app: Flask) -> None:
    app.config.setdefault("IRPM_SCHEMA_HEAD", head_revision(app.extensions["irpm"].db))
    app.register_blueprint(bp)
