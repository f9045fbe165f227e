"""The publicity pages (公示), open to everyone, and the discipline officer's list of public
feedback.

Public (no sign-in): ``/publicity`` lists the units whose posts are in publicity now;
``/publicity/<unit>/<year>`` shows the unit's published posts with their level and the
leaders who answer for them ("明确监管内容,落实监管责任,接受群众监督"), and each post's
feedback form (群众提) is at ``/publicity/<unit>/<year>/<post>``. Feedback goes through
``engine.services.submit_feedback``: stored, and delivered to the post's waiting cycle, or
kept for the unit's discipline officer when none waits.

Abuse: every feedback POST counts against its client address — ``IRPM_FEEDBACK_LIMIT``
requests per ``IRPM_FEEDBACK_WINDOW`` seconds (defaults 5 per hour, the settings the REST
API's feedback uses too, and counts with these), then 429. The count is kept in the database
(``web.ratelimit``), so every worker process and host shares it; behind a reverse proxy the
address is the proxy's unless the app is told to trust ``X-Forwarded-For`` (werkzeug's
``ProxyFix``). A hidden ``website`` field catches robots: filled in, the
feedback is thanked for and dropped. Only a keyed hash of the address is stored.

Signed in: ``/publicity/feedback`` — the feedback of the units a discipline officer
oversees (the city's discipline commission: all), pending first, to mark handled.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

from .. import nav
from ..ratelimit import FeedbackLimiter, feedback_limiter

bp = Blueprint("publicity", __name__, url_prefix="/publicity", template_folder="templates",
               static_folder="static", static_url_path="/static")


def limiter(app: Flask) -> FeedbackLimiter:
    return feedback_limiter(app)


def init_app(app: Flask) -> None:
    feedback_limiter(app)
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    nav.add(app, nav.Item("publicity.index", _l("Publicity"), order=60, public=True))
