"""Which endpoints anyone may reach. Every other endpoint needs a signed-in user — the
default, enforced before each request by ``web.auth`` — so a new view is private unless it
says otherwise.

Mark a view with ``@public``, or a whole blueprint with ``public(bp)`` (e.g. the
publicity pages). Static files are always public.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask

T = TypeVar("T")

_MARK = "irpm_public"


def public(target: T) -> T:
    """Let anonymous users reach a view function or every view of a blueprint."""
    setattr(target, _MARK, True)
    return target


def is_public(app: Flask, endpoint: str | None, blueprint: str | None) -> bool:
    if endpoint is None:  # no route matched: private, so nothing is revealed
        return False
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view: Any = app.view_functions.get(endpoint)
    if getattr(view, _MARK, False):
        return True
    bp: Any = app.blueprints.get(blueprint) if blueprint else None
    return bool(getattr(bp, _MARK, False))
