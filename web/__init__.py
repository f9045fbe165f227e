"""The IRPM web application: ``create_app`` builds it; nothing happens at import time."""

from __future__ import annotations

import secrets
import weakref
from typing import Any

from flask import Flask

from engine.programme.composition import programme_runtime
from engine.settings import Settings

from . import (
    api,
    auth,
    console,
    dashboard,
    designer,
    edges,
    errors,
    health,
    i18n,
    inbox,
    jobs,
    labels,
    limits,
    nav,
    notifications,
    proxies,
    publicity,
    security,
    tasks,
)
from . import config as web_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config["IRPM_SETTINGS"]`` (a ``Settings``) overrides the
    environment for the engine; other keys override ``web.config`` (defaults, then ``IRPM_*``
    variables).

    The secret key comes from ``SECRET_KEY`` / ``IRPM_SECRET_KEY``, else from
    ``instance/secret_key`` (generated once); a testing app without one gets a throwaway key.

    The engine ``Runtime`` (database pool, spec and workflow caches) lives as long as the app,
    on ``app.extensions["irpm"]``; it is disposed when the app is discarded or the process
    exits, never per request.

    Requests from a trusted reverse proxy carry the client's address (``web.proxies``,
    ``IRPM_FORWARDED_ALLOW_IPS``); every request's body is size-limited (``web.limits``)
    and its input bounded (``web.edges``).
    """
    app = Flask(__name__, instance_path=str(web_config.INSTANCE_PATH))
    app.config.from_mapping(IRPM_SETTINGS=None, **web_config.defaults())
    app.config.from_mapping(web_config.from_env())
    if config:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = (secrets.token_hex(32) if app.testing else
                                    web_config.instance_secret_key(app.instance_path))
    settings = app.config["IRPM_SETTINGS"] or Settings.from_env()
    runtime = programme_runtime(settings)
    app.extensions["irpm"] = runtime
    weakref.finalize(app, runtime.close)
    # web.limits first: its hook sets the request's size limit before any other (the CSRF
    # check among them) reads the body; then web.edges refuses what no view may see (and
    # bounds the <int:…> routes registered after it).
    for module in (limits, edges, security, i18n, labels, errors, nav, auth, health, inbox,
                   tasks, api, jobs, notifications, publicity, dashboard, console, designer):
        module.init_app(app)
    proxies.install(app, app.config["IRPM_FORWARDED_ALLOW_IPS"])
    return app
