"""Notifications (通知): the list of a signed-in user's notifications (new tasks, tasks
delegated to them, yellow and red cards, pending public feedback), their unread count in the
navigation, and where to e-mail them.

The engine makes the notifications (``engine.services.notifications``) and keeps their
e-mails in an outbox until the server took them (``engine.services.mail_outbox``: sent after
the commit, retried by ``irpm notifications send`` or the scheduler); here the app configures
how it e-mails them, from its settings (defaults: the environment):

=========================== ========== ====================================================
setting                     default    meaning
=========================== ========== ====================================================
``IRPM_SMTP_HOST``          —          SMTP server; unset: notifications are not e-mailed
``IRPM_SMTP_PORT``          ``25``
``IRPM_SMTP_USER``,         —          log in to the server
``IRPM_SMTP_PASSWORD``
``IRPM_SMTP_FROM``          —          sender address (required for e-mail)
``IRPM_SMTP_STARTTLS``      off        ``1``: STARTTLS
``IRPM_SMTP_MAX_ATTEMPTS``  ``8``      attempts per e-mail before the outbox gives it up
``IRPM_SMTP_RETRY_SECONDS`` ``60``     the first retry's delay (then ×4, at most 6 hours)
``IRPM_BASE_URL``           —          the app's address, for links in e-mails
``IRPM_NEAR_DUE_DAYS``      ``3``      a yellow card this many days before the due date
=========================== ========== ====================================================
"""

from __future__ import annotations

import os
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

SMTP_KEYS = ("IRPM_SMTP_HOST", "IRPM_SMTP_PORT", "IRPM_SMTP_USER", "IRPM_SMTP_PASSWORD",
             "IRPM_SMTP_FROM", "IRPM_SMTP_STARTTLS", "IRPM_SMTP_TIMEOUT",
             "IRPM_SMTP_MAX_ATTEMPTS", "IRPM_SMTP_RETRY_SECONDS", "IRPM_BASE_URL")
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
    for key in SMTP_KEYS:
        if key not in app.config and os.environ.get(key):
            app.config[key] = os.environ[key]
    notifications.install(app.extensions["irpm"],
                          smtp=SmtpSettings.from_mapping(app.config),
                          near_due=timedelta(days=float(app.config["IRPM_NEAR_DUE_DAYS"])))
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    nav.add(app, nav.Item("notifications.index", _l("Notifications"), order=20,
                          count="unread"))
    nav.add_count(app, "unread", _unread)
