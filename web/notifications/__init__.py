"""Notifications (通知): the list of a signed-in user's notifications (new tasks, tasks
delegated to them, yellow and red cards, pending public feedback), their unread count in the
navigation, and where to e-mail them.

The engine makes the notifications (``engine.services.notifications``) and keeps their
e-mails in an outbox until the server took them (``engine.services.mail_outbox``: sent after
the commit, retried by ``irpm notifications send`` or the scheduler); here the app configures
how it e-mails them and when a task gets a yellow card, from its config (``web.config``:
``IRPM_SMTP_*``, ``IRPM_BASE_URL``, ``IRPM_NEAR_DUE_DAYS``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.mail import SmtpSettings
from engine.services import notifications

from .. import nav

bp = Blueprint("notifications", __name__, url_prefix="/notifications",
               template_folder="templates", static_folder="static", static_url_path="/static")

#: The kinds as the list shows them, with a Bootstrap colour each.
KINDS = {
    "task": (_l("New task"), "primary"),
    "delegated": (_l("Delegated to you"), "info"),
    "yellow_card": (_l("Yellow card"), "warning"),
    "red_card": (_l("Red card"), "danger"),
    "feedback": (_l("Public feedback"), "secondary"),
}


def _unread(uow: UnitOfWork, actor: Actor) -> int:
    return notifications.unread_count(uow, actor.user)


def init_app(app: Flask) -> None:
    notifications.install(app.extensions["irpm"],
                          smtp=SmtpSettings.from_mapping(app.config),
                          near_due=timedelta(days=float(app.config["IRPM_NEAR_DUE_DAYS"])))
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    nav.add(app, nav.Item("notifications.index", _l("Notifications"), order=20,
                          count="unread"))
    nav.add_count(app, "unread", _unread)
