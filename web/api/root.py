"""The /api/v1 blueprint: every area nested in it, the caller authenticated before each
operation (``auth``), every error as JSON (``errors``) — unknown paths and methods too."""

from __future__ import annotations

from typing import NoReturn

import flask
from flask import current_app, request
from werkzeug.exceptions import HTTPException

from .. import edges
from . import (
    account,
    auth,
    definitions,
    errors,
    feedback,
    instance_admin,
    instances,
    jobs,
    messages,
    organisation,
    register,
)
from . import tasks as tasks_area
from .base import Blueprint
from .errors import ApiError

PREFIX = "/api/v1"
AREAS = (definitions.bp, instances.bp, tasks_area.bp, messages.bp, messages.signals_bp,
         organisation.bp, register.bp, feedback.bp, account.bp, jobs.bp)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN = "api.unknown"

bp = Blueprint("api", __name__, url_prefix=PREFIX,
               description="IRPM REST API: processes, tasks, organisation, risk register")
for area in AREAS:
    bp.register_blueprint(area)
assert instance_admin.OPERATIONS  # its operations are routes of instances.bp
bp.before_request(auth.authenticate)
bp.before_request(edges.check_body)  # the body's text and JSON, once the caller is known
errors.register(bp)


def _routed(method: str) -> bool:
    """Whether some API operation takes ``method`` at this path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _values = adapter.match(method=method)
    except HTTPException:
        return False
    return endpoint != UNKNOWN


def unknown(path: str = "") -> NoReturn:
    """Anything else under /api/v1: 405 (with Allow) or 404, as JSON."""
    allowed = [m for m in METHODS if _routed(m)]
    if allowed:
        raise ApiError(405, "method_not_allowed", f"{request.path} does not take "
                       f"{request.method}.", headers={"Allow": ", ".join(allowed)})
    raise ApiError(404, "not_found", f"There is no API operation at {request.path}.")


# Plain Flask rules, left out of the OpenAPI document.
flask.Blueprint.add_url_rule(bp, "/", "unknown", unknown, methods=METHODS)
flask.Blueprint.add_url_rule(bp, "/<path:path>", "unknown", unknown, methods=METHODS)
