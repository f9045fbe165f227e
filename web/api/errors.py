"""Every API error as JSON, mapped in this one place:

    {"code": "validation_failed", "message": "…", "errors": {"points.0.category": ["…"]}}

``code`` is a stable word a program can branch on (an engine error's own ``code``, or the
HTTP status's), ``message`` a sentence for people, ``errors`` (validation only) the
messages per field, named by dotted path into the request. Engine errors map by class:
``NotFound`` 404, ``Forbidden`` 403, ``Conflict`` (and its kinds) 409, ``ValidationFailed``
422, any other 400. Request schemas (webargs) reject with 422 and the same shape; a missing
or bad CSRF token is 400 ``csrf_failed``; ``ApiError`` raises anything else (401, 429…).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import Conflict, Forbidden, IrpmError, NotFound, ValidationFailed

#: Engine error class -> HTTP status (the first match in the class's MRO wins).
STATUS: dict[type[IrpmError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409,
                                      ValidationFailed: 422, IrpmError: 400}
#: Request parts webargs files its messages under; the field paths leave them out.
LOCATIONS = frozenset({"json", "query", "form", "files", "path", "headers", "cookies"})


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    code = ma.fields.String(required=True, metadata={"description": "what went wrong, as a "
                                                     "stable word (e.g. not_found)"})
    message = ma.fields.String(required=True, metadata={"description": "for people"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "validation messages by field path"})


class ApiError(Exception):
    """An error response the API decides on itself (not found in the engine)."""

    def __init__(self, status: int, code: str, message: str, *,
                 errors: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.headers = errors, dict(headers or {})


def flatten(messages: Any, prefix: str | None = None) -> dict[str, list[str]]:
    """Nested marshmallow/webargs messages as ``{"points.0.category": ["…"]}``; messages
    about the whole document under ``_schema``. A field may be named ``""`` (the JSON
    ``{"": 1}``): its path is ``""`` at the top, ``data.`` below."""
    if not isinstance(messages, Mapping):
        items = messages if isinstance(messages, list | tuple) else [messages]
        return {"_schema" if prefix is None else prefix: [str(m) for m in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = str(key) if prefix is None else f"{prefix}.{key}"
        for field, texts in flatten(value, path).items():
            flat.setdefault(field, []).extend(texts)
    return flat


def _without_locations(messages: Mapping[str, Any]) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        flat.update(flatten(value) if key in LOCATIONS else flatten({key: value}))
    return flat


def payload(status: int, code: str, message: str, errors: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.headers.update(headers or {})
    return response, status


@contextmanager
def fields_under(prefix: str) -> Iterator[None]:
    """Report the engine's field errors under ``prefix`` — where they sit in the request
    (``data.risk_description`` for a task form's field)."""
    try:
        yield
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {f"{prefix}.{path}": messages for path, messages
                                             in flatten(exc.errors).items()}) from exc


def status_of(exc: IrpmError) -> int:
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def _engine(exc: IrpmError) -> tuple[Response, int]:
    errors = flatten(exc.errors) if isinstance(exc, ValidationFailed) and exc.errors else None
    return payload(status_of(exc), exc.code, exc.message, errors)


def _api(exc: ApiError) -> tuple[Response, int]:
    return payload(exc.status, exc.code, exc.message, exc.errors, exc.headers)


def _http(exc: HTTPException) -> Any:
    status = exc.code or 500
    if status < 400:
        return exc
    data = getattr(exc, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if status == 422:
        return payload(422, "validation_failed", "The request has invalid fields; see errors.",
                       _without_locations(messages or {}), headers)
    code = exc.name.lower().replace(" ", "_").replace("'", "")
    message = data.get("message") or (messages and "The request could not be read.") \
        or exc.description or exc.name
    errors = _without_locations(messages) if isinstance(messages, Mapping) else None
    return payload(status, code, str(message), errors, headers)


def _csrf(exc: CSRFError) -> tuple[Response, int]:
    return payload(400, "csrf_failed", f"{exc.description} Signed-in browser sessions send the "
                   "page's CSRF token in the X-CSRFToken header; API tokens need none.")


def _server(exc: InternalServerError) -> tuple[Response, int]:
    original = getattr(exc, "original_exception", None)
    if original is not None:
        current_app.logger.error("API request failed", exc_info=original)
    return payload(500, "server_error", "Something went wrong on our side. It has been "
                   "logged; please try again later.")


def register(bp: Any) -> None:
    """Install the handlers on the API blueprint (and so on every blueprint nested in it)."""
    bp.register_error_handler(IrpmError, _engine)
    bp.register_error_handler(ApiError, _api)
    bp.register_error_handler(CSRFError, _csrf)
    bp.register_error_handler(InternalServerError, _server)
    bp.register_error_handler(HTTPException, _http)
