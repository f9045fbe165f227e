"""The IRPM web application: ``create_app`` builds it; nothing happens at import time."""

from __future__ import annotations

import weakref
from typing import Any

from flask import Flask

from engine.runtime import Runtime
from engine.settings import Settings

from . import health


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config["IRPM_SETTINGS"]`` (a ``Settings``) overrides the environment.

    The engine ``Runtime`` (database pool, spec and workflow caches) lives as long as the app,
    on ``app.extensions["irpm"]``; it is disposed when the app is discarded or the process
    exits, never per request.
    """
    app = Flask(__name__)
    app.config.from_mapping(IRPM_SETTINGS=None)
    if config:
        app.config.from_mapping(config)
    settings = app.config["IRPM_SETTINGS"] or Settings.from_env()
    runtime = Runtime(settings)
    app.extensions["irpm"] = runtime
    weakref.finalize(app, runtime.close)
    health.init_app(app)
    return app
