"""What a request's input may hold, refused at the edge before any view reads it (issue 13).

Everything below would otherwise travel on and fail far from where it came in — a database
error (500) on PostgreSQL and not on SQLite, or an instance put into error by a form field
stored in its data and read back later — so it is refused here, alike on every database,
with a 400 that names the field:

* **Path integers** (``<int:…>``: ids) above the database's ``BIGINT`` (2**63 - 1) match
  no route: 404, as any id that does not exist (SQLite cannot bind a larger one;
  PostgreSQL calls it out of range). A route whose integer is an ``INTEGER`` column (a
  year, a version) says so: ``<int(max=2147483647):year>``.
* **Text** — path values, query parameters, form fields and their names, uploaded files'
  names, JSON keys and strings — holds no control character but tab, line feed and carriage
  return, and no lone UTF-16 surrogate (JSON's ``"\\ud800"``): PostgreSQL cannot store NUL,
  neither database can store a surrogate, and nothing a person types holds either.
* **JSON bodies** are parsed once, here, bounded: at most ``MAX_JSON_DEPTH`` levels deep
  (Python's decoder recurses and would run out of stack), integers within ``BIGINT`` (what
  the database and the stored task data hold; Python refuses more than 4,300 digits before
  that), finite numbers only (no ``NaN`` or ``Infinity``).

The JSON rules hold wherever the app reads JSON (its provider, ``JsonProvider``): the hook
parses every JSON body before the views do (and before the API's argument parser, which
parses it again from the same, now proven, bytes).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import force_locale
from flask_babel import lazy_gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from . import errors
from .api import errors as api_errors

#: The largest id a path may carry: PostgreSQL's and SQLite's signed 64-bit integer.
MAX_ID = 2**63 - 1
#: How deep a JSON body may nest (the deepest the app sends itself is a form's rows: 4).
MAX_JSON_DEPTH = 64
#: Control characters but tab, line feed and carriage return (C0, DEL, C1), and surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: Where the REST API answers (web.api.root.PREFIX).
API_PREFIX = "/api/"
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class RefusedInput(BadRequest):
    """400: the request holds what no field may; ``field`` says where (``json``,
    ``query``, ``form``, ``files`` or ``path``, and the name or dotted JSON path)."""

    def __init__(self, location: str, field: str, message: Any) -> None:
        super().__init__(message)
        self.location, self.message = location, message
        self.field = FORBIDDEN.sub("?", field)  # the answer never repeats what it refuses


def at_most(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to ``limit``: one that is larger
    must not match the rule at all (Werkzeug stops looking at the first rule whose pattern
    matched and whose converter then refused, so the API's catch-all could not answer)."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest
                                                                   else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class BoundedInteger(IntegerConverter):
    """``<int:…>`` that matches only what the database can hold (flask-smorest documents
    the bound as the parameter's ``maximum``)."""

    regex = at_most(MAX_ID)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def _character(text: str) -> str | None:
    """The first forbidden character of ``text`` as ``U+0000``, or None."""
    found = FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _bad_text(location: str, field: str, where: Any, code: str) -> RefusedInput:
    return RefusedInput(location, field, _(
        "%(where)s contains the control character %(code)s, which no field may hold. "
        "Remove it and send again.", where=where, code=code))


def _where(location: str, name: str) -> Any:
    if location == "path":
        return _("The path value %(name)s", name=name)
    if location == "query":
        return _("The query parameter %(name)s", name=name)
    if location == "form":
        return _("The form field %(name)s", name=name)
    return _("The file name in %(name)s", name=name)


def check_text(location: str, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Refuse the first name or value of ``pairs`` holding a forbidden character."""
    for name, value in pairs:
        for text in (name, value or ""):
            code = _character(text)
            if code:
                where = _where(location, repr(FORBIDDEN.sub("?", name)))
                raise _bad_text(location, name, where, code)


# ------------------------------------------------------------------------------ JSON


class _Constant(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON, though Python's decoder reads it."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def parse_json(data: str | bytes) -> Any:
    """``data`` as JSON, within the bounds above; RefusedInput (400) if it is not."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep("") from None
    except _Constant as exc:
        raise RefusedInput("json", "", _("The body is not valid JSON: %(name)s is not a "
                                         "number in JSON.", name=str(exc))) from None
    except json.JSONDecodeError as exc:
        raise RefusedInput("json", "", _("The body is not valid JSON: %(error)s.",
                                         error=str(exc))) from None
    except (ValueError, UnicodeDecodeError) as exc:  # a number over 4,300 digits; bad UTF-8
        raise RefusedInput("json", "", _("The body is not valid JSON: %(error)s.",
                                         error=str(exc))) from None
    check_json(value)
    return value


def _too_deep(path: str) -> RefusedInput:
    return RefusedInput("json", path, _("The JSON body nests deeper than %(depth)d levels; "
                                        "send a flatter one.", depth=MAX_JSON_DEPTH))


def _nodes(value: Any) -> Iterator[tuple[str, Any, int, str | None]]:
    """Every value of a parsed JSON document as ``(path, value, depth, key)``, without
    recursion (``depth``: 1 for the document; ``key``: the object key that leads to it)."""
    stack: list[tuple[str, Any, int, str | None]] = [("", value, 1, None)]
    while stack:
        path, node, depth, key = stack.pop()
        yield path, node, depth, key
        if isinstance(node, dict):
            stack.extend((f"{path}.{k}" if path else k, v, depth + 1, k)
                         for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}" if path else str(i), v, depth + 1, None)
                         for i, v in enumerate(node))


def check_json(value: Any) -> None:
    """Refuse a parsed JSON document that breaks a bound, naming the first field found."""
    for path, node, depth, key in _nodes(value):
        shown = repr(FORBIDDEN.sub("?", path))
        if isinstance(node, dict | list) and depth > MAX_JSON_DEPTH:
            raise _too_deep(path)
        code = _character(key) if key is not None else None
        if code:
            raise _bad_text("json", path, _("The name of JSON field %(name)s", name=shown),
                            code)
        if isinstance(node, str) and (code := _character(node)):
            raise _bad_text("json", path, _("The JSON field %(name)s", name=shown), code)
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_ID:
            raise RefusedInput("json", path, _(
                "The JSON field %(name)s holds a number beyond ±%(limit)d.", name=shown,
                limit=MAX_ID))
        if isinstance(node, float) and not math.isfinite(node):
            raise RefusedInput("json", path, _(
                "The JSON field %(name)s holds a number too large to store.", name=shown))


class JsonProvider(DefaultJSONProvider):
    """The app's JSON: what it reads (request bodies, through ``get_json`` and Flask-WTF's
    forms alike) within the bounds above; what it writes as Flask's."""

    def loads(self, s: str | bytes, **_kwargs: Any) -> Any:
        return parse_json(s)


# ------------------------------------------------------------------------------ the hook


def check_request() -> None:
    """``before_request`` (after ``web.limits``): refuse what no view may see. The API's
    bodies wait for ``check_body`` after its authentication (``web.api.root``): a caller
    with a false token must get its 401 with the body unread (``web.limits``)."""
    check_text("path", [(name, value) for name, value in (request.view_args or {}).items()
                        if isinstance(value, str)])
    check_text("query", request.args.items(multi=True))
    if not is_api():
        check_body()


def check_body() -> None:
    """The body's form fields, file names and JSON."""
    if request.mimetype in FORM_TYPES:
        check_text("form", request.form.items(multi=True))
        check_text("files", [(name, upload.filename)
                             for name, upload in request.files.items(multi=True)])
    elif request.is_json and request.get_data(cache=True):
        request.get_json()


def is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def refused(exc: RefusedInput) -> Any:
    """The 400: for the API its error body (in English, as all its messages), the field
    named in ``errors``; else the error page (or JSON, to those who ask for it) saying what
    to fix in the user's language."""
    if is_api():
        with force_locale("en"):
            message = str(exc.message)
        return api_errors.payload(400, "bad_request", message,
                                  {exc.field or "_schema": [message]})
    message = str(exc.message)
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(code="bad_request", message=message, field=exc.field), 400
    return errors.error_page(400, message)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInteger
    app.json = JsonProvider(app)
    app.before_request(check_request)
    app.register_error_handler(RefusedInput, refused)
