"""How large a request may be, decided before anything reads its body.

Before every request — ahead of the CSRF check, the sign-in gate and the view, which are
what read a body — the request gets its limit:

* anyone not signed in: ``IRPM_MAX_ANONYMOUS_BYTES`` (64 KB by default: the sign-in form,
  the public feedback form and its API), with a small form (``ANONYMOUS_FORM_PARTS`` fields,
  each within the limit);
* a signed-in user, or an API call carrying a bearer token (``web.api.auth`` checks the
  token before any operation reads the body): ``MAX_CONTENT_LENGTH``
  (``IRPM_MAX_REQUEST_BYTES``, 16 MB), unless the blueprint set its own first (a task
  page's evidence upload: ``web.tasks``);
* every form: Werkzeug's ``MAX_FORM_MEMORY_SIZE`` per field and ``MAX_FORM_PARTS`` fields.

A request that declares a larger ``Content-Length`` is refused at once with 413 — its body
unread, nothing written, no temporary file. One sent in chunks (no length; the server
delimits it: ``wsgi.input_terminated``, as gunicorn sets) is read up to the limit and is a
413 as soon as a byte more arrives (``Capped``: Werkzeug alone would stop reading there and
hand the view a body cut short). The 413 is JSON for the API and JSON requests, else the
error page, saying what the limit is.
"""

from __future__ import annotations

import io
from typing import IO, Any

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

#: Fields and files an anonymous form may have (the sign-in form has four).
ANONYMOUS_FORM_PARTS = 50
#: The REST API's blueprints are named ``api`` and ``api.<area>``.
API_BLUEPRINT = "api"


def _is_api() -> bool:
    return API_BLUEPRINT in request.blueprints or request.path.startswith("/api/")


def _signed_in() -> bool:
    if current_user.is_authenticated:
        return True
    header = request.headers.get("Authorization", "")
    return _is_api() and header[:7].lower() == "bearer "


class Capped(io.RawIOBase):
    """A chunked body's stream that gives ``limit`` bytes and raises 413 when one more
    comes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream, self.limit, self.position = stream, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = self.limit - self.position
        if room <= 0:
            if self.stream.read(1):
                raise RequestEntityTooLarge()
            return 0
        view = memoryview(buffer).cast("B")[:room]
        data = self.stream.read(len(view))
        view[:len(data)] = data
        self.position += len(data)
        return len(data)


def limit_request() -> None:
    """``before_request``, registered before every other one."""
    current = request.max_content_length
    if not _signed_in():
        anonymous = int(current_app.config["IRPM_MAX_ANONYMOUS_BYTES"])
        current = anonymous if current is None else min(current, anonymous)
        request.max_form_parts = ANONYMOUS_FORM_PARTS
        memory = request.max_form_memory_size
        request.max_form_memory_size = anonymous if memory is None else min(memory, anonymous)
    g.irpm_body_limit = request.max_content_length = current
    if current is None:
        return
    length = request.content_length
    if length is not None and length > current:
        current_app.logger.info("refused a %d-byte %s %s from %s: at most %d bytes", length,
                                request.method, request.path, request.remote_addr, current)
        raise RequestEntityTooLarge()
    if length is None and "wsgi.input_terminated" in request.environ:
        request.environ["wsgi.input"] = Capped(request.environ["wsgi.input"], current)
        request.max_content_length = current + 1  # Werkzeug lets Capped see the extra byte


def size_text(size: int) -> str:
    """``65536`` → ``64 KB``, ``1572864`` → ``1.5 MB``: request limits and evidence files."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _wants_json() -> bool:
    return _is_api() or request.is_json or request.accept_mimetypes.best == "application/json"


def too_large(_exc: RequestEntityTooLarge) -> Any:
    limit = g.get("irpm_body_limit", request.max_content_length)
    size = size_text(limit) if limit is not None else ""
    message = _("The request is larger than %(size)s, the most this address accepts.",
                size=size)
    if _wants_json():
        response = jsonify(code="request_entity_too_large", message=message, limit=limit)
        return response, 413
    return render_template("errors/error.html", status=413, title=_l("Request too large"),
                           explanation=message), 413


def init_app(app: Flask) -> None:
    app.before_request(limit_request)
    app.register_error_handler(RequestEntityTooLarge, too_large)
