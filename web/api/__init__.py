"""The REST API at /api/v1 (flask-smorest): definitions, instances, tasks, organisation,
risk register, public feedback, and the caller's API tokens.

The OpenAPI document is at /api/v1/openapi.json and the interactive docs (Swagger UI,
served from web/static/vendor, installed from npm) at /api/v1/docs; both are public, like
the feedback operation. Everything else needs a signed-in session or a personal API token
(``web.api.auth``), and every error is JSON (``web.api.errors``). The profile page
(/profile) lets people create and revoke their tokens.

Public feedback goes to the process ``IRPM_FEEDBACK_PROCESS``, rate-limited with the
publicity page's (``IRPM_FEEDBACK_LIMIT`` per ``IRPM_FEEDBACK_WINDOW``, web.ratelimit):
settings of ``web.config``.
"""

from __future__ import annotations

import flask_smorest
from flask import Flask, render_template, url_for

from .. import access
from ..ratelimit import feedback_limiter
from ..security import csrf
from . import pages
from .errors import ErrorSchema
from .root import AREAS, PREFIX
from .root import bp as api_bp

DOCS_BLUEPRINT = "api-docs"


SPEC = {
    "API_TITLE": "IRPM API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
    "API_SPEC_OPTIONS": {
        "info": {"description": (
            "廉政风险防范管理 (integrity-risk prevention) REST API. Authenticate with the "
            "browser session (unsafe methods then need the X-CSRFToken header) or a personal "
            "API token (`Authorization: Bearer irpm_…`), created on the profile page. Errors "
            "are {code, message, errors}; validation errors name the field.")},
        "security": [{"token": []}, {"session": []}],
    },
}


class Api(flask_smorest.Api):
    """flask-smorest's ``Api`` without its app-wide error handler — the app's pages keep
    theirs; the API blueprint has its own — and with a docs page that runs under the app's
    Content-Security-Policy (no inline script) from the locally installed Swagger UI."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass

    def _openapi_swagger_ui(self) -> str:
        return render_template("api/docs.html", title=self.spec.title,
                               spec_url=url_for(f"{DOCS_BLUEPRINT}.openapi_json"))


def init_app(app: Flask) -> None:
    for key, value in SPEC.items():
        app.config.setdefault(key, value)
    api = Api(app)
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]})
    api.register_blueprint(api_bp)
    # Operations are tagged by area; the parent blueprint's own tag would head an empty
    # section of the docs.
    api.spec._tags[:] = [t for t in api.spec._tags if t["name"] != api_bp.name]
    for area in AREAS:
        api.spec.tag({"name": area.name, "description": area.description})
    for name, blueprint in app.blueprints.items():
        if name == api_bp.name or name.startswith(f"{api_bp.name}."):
            access.public(blueprint)  # web.api.auth decides, answering 401 in JSON
            csrf.exempt(blueprint)  # …and checks CSRF for session calls itself
    access.public(app.blueprints[DOCS_BLUEPRINT])
    # One limiter for the API's feedback and the publicity page's (web.ratelimit).
    app.extensions["irpm_api"] = {"feedback_limiter": feedback_limiter(app)}
    pages.init_app(app)
