"""The app's engine ``Runtime`` (built once by ``create_app``) for views and helpers."""

from __future__ import annotations

from flask import current_app

from engine.runtime import Runtime


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["irpm"]
    return rt
