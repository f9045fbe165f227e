"""The public feedback's rate limit (群众提), shared by every process serving the app.

Each client address may send ``IRPM_FEEDBACK_LIMIT`` feedback requests per
``IRPM_FEEDBACK_WINDOW`` seconds — through the publicity page and the REST API together —
counted in the database (``engine.services.hit_rate_limit``), so gunicorn's workers, and
several hosts on one database, share the count; a restart forgets nothing. The address is
counted only as a keyed hash (``feedback.hash_address`` under the app's secret key: apps
that share a database must share the key too, as they must for sessions). Behind a reverse
proxy the address is the proxy's unless the app is told to trust ``X-Forwarded-For``
(werkzeug's ``ProxyFix``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app

from engine.programme.services import feedback
from engine.services import rate_limits

from .runtime import runtime

#: ``app.extensions`` key of the app's limiter.
EXTENSION = "irpm_feedback_limiter"
SCOPE = "feedback"


class FeedbackLimiter:
    """``hit(address)``: None if the request may go on, else the seconds to wait. The clock
    (UNIX seconds) is a parameter so tests move time instead of sleeping."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window, self.clock = limit, window, clock

    def hit(self, address: str | None) -> float | None:
        key = feedback.hash_address(address or "unknown", current_app.secret_key or "")
        assert key is not None
        with runtime().uow() as uow:
            return rate_limits.hit_rate_limit(
                uow, SCOPE, key, limit=self.limit, window=self.window,
                now=datetime.fromtimestamp(self.clock(), UTC))


def feedback_limiter(app: Flask) -> FeedbackLimiter:
    """The app's limiter, made on first use from its settings (``web.config``)."""
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, FeedbackLimiter):
        found = FeedbackLimiter(int(app.config["IRPM_FEEDBACK_LIMIT"]),
                                float(app.config["IRPM_FEEDBACK_WINDOW"]))
        app.extensions[EXTENSION] = found
    return found
