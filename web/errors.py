"""Errors as people see them: one place maps engine errors to HTTP statuses and to a
sentence in the user's language; 400/403/404/405/409/500 pages in the layout.

Views that act (claim, delegate…) catch ``IrpmError`` and flash ``describe(exc)``; anything
uncaught ends here with the page for its status.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    IrpmError,
    NotFound,
    TaskAlreadyClaimed,
    TaskAlreadyCompleted,
    ValidationFailed,
)

#: Engine error class -> HTTP status (the first match in the class's MRO wins).
STATUS: dict[type[IrpmError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409,
                                      ValidationFailed: 400, IrpmError: 400}

MESSAGES: dict[type[IrpmError], Any] = {
    NotFound: _l("It does not exist (any more)."),
    Forbidden: _l("You are not allowed to do that."),
    TaskAlreadyClaimed: _l("Someone else has already claimed this task."),
    TaskAlreadyCompleted: _l("This task has already been completed."),
    InvalidState: _l("The process is not running, so its tasks cannot be worked on now."),
    Conflict: _l("Someone else changed this just now. Please reload and try again."),
    ValidationFailed: _l("Please check what you entered."),
    IrpmError: _l("The request could not be carried out."),
}

TITLES: dict[int, Any] = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    500: _l("Server error"),
}
EXPLANATIONS: dict[int, Any] = {
    400: _l("The request could not be understood. Please go back and try again."),
    403: _l("You do not have permission to see this page."),
    404: _l("The page you asked for does not exist."),
    405: _l("This address does not accept that kind of request."),
    409: _l("Someone else changed this just now. Please reload and try again."),
    500: _l("Something went wrong on our side. It has been logged; please try again later."),
}


def _first(table: dict[type[IrpmError], Any], exc: IrpmError) -> Any:
    return next(table[cls] for cls in type(exc).__mro__ if cls in table)


def status_of(exc: IrpmError) -> int:
    status: int = _first(STATUS, exc)
    return status


def describe(exc: IrpmError) -> str:
    """One sentence for the user (the engine's own message is for logs and the API)."""
    return str(_first(MESSAGES, exc))


def error_page(status: int, detail: str | None = None) -> tuple[Any, int]:
    if request.accept_mimetypes.best == "application/json":
        return jsonify(code=status, message=str(TITLES.get(status, TITLES[400]))), status
    return render_template("errors/error.html", status=status,
                           title=TITLES.get(status, TITLES[400]),
                           explanation=detail or EXPLANATIONS.get(status, EXPLANATIONS[400])
                           ), status


def _http(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    return error_page(exc.code)


def _csrf(_exc: CSRFError) -> Any:
    return error_page(400, str(_l("The form has expired or was not sent from this site. "
                                  "Please go back, reload the page and try again.")))


def _engine(exc: IrpmError) -> Any:
    """A page asked for: the status's own explanation; an action refused: what was wrong."""
    status = status_of(exc)
    acted = request.method not in ("GET", "HEAD")
    return error_page(status, describe(exc) if acted and status != 404 else None)


def _server(_exc: InternalServerError) -> Any:
    return error_page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(IrpmError, _engine)
    app.register_error_handler(InternalServerError, _server)
    app.register_error_handler(HTTPException, _http)
