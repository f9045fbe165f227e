"""The administrator console's instance side (/console): the instance list with saved
filters, the instance page and its operations, batch operations, the heatmap and the audit
log.

Who may do what: administrators and the city's discipline commission see everything here;
only administrators act — ``may_act`` is the one rule of ``engine.services.admin_rule``, which
every operation's engine service asks again before it records the audit entry in its own
transaction (the views check first only to hide buttons and to answer 403 early). The REST
API and the ``irpm`` commands call the same services under the same rule.

Batches run in the background: creating one queues a job the scheduler runs step by step
(``engine.services.jobs``), so closing the page pauses nothing; an administrator's open
batch page also posts ``/console/batches/<id>/step`` (up to 25 instances or one second of
work each; items are taken one at a time, so nothing runs twice) and shows the progress
(see ``engine.services.batches``). The background jobs are listed at /console/jobs.

The account page unlocks an account locked after failed sign-ins and signs an account out
everywhere (``account_views``).
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g
from flask_babel import lazy_gettext as _l

from engine.services import admin_rule

from .. import nav
from ..labels import EVENTS, TABLES

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

#: The unscoped group of the city's discipline commission (a unit's discipline officer is
#: ``discipline_officer:<unit>`` and does not see the whole city).
COMMISSION = "discipline_commission"
VIEWERS = ("admin", COMMISSION)

AUDIT_ACTIONS = {
    "suspend": _l("Suspend"), "resume": _l("Resume"), "terminate": _l("Terminate"),
    "retry": _l("Retry"), "reassign": _l("Reassign task"),
    "set_variables": _l("Change variables"), "move_token": _l("Move token"),
    "migrate": _l("Migrate to version"), "batch_suspend": _l("Batch: suspend"),
    "batch_resume": _l("Batch: resume"), "batch_terminate": _l("Batch: terminate"),
    "batch_retry": _l("Batch: retry"), "batch_migrate": _l("Batch: migrate"),
    "clock_set": _l("Set the simulated clock"), "clock_advance": _l("Advance the simulated clock"),
    "clock_system": _l("Return to the system clock"),
    "account_lock": _l("Account locked (failed sign-ins)"),
    "account_unlock": _l("Unlock account"), "account_sign_out": _l("Sign out everywhere"),
}
CONSOLE_EVENTS = {"variables_changed": _l("Variables changed"),
                  "token_moved": _l("Token moved"), "migrated": _l("Migrated")}


def may_view() -> bool:
    actor = g.get("actor")
    return actor is not None and (actor.is_admin or COMMISSION in actor.groups)


def may_act() -> bool:
    return admin_rule.may_administer(g.get("actor"))


@bp.before_request
def _viewers_only() -> None:
    if not may_view():
        abort(403)


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401
        account_views,
        audit_views,
        batch_views,
        heatmap_views,
        instance_views,
        job_views,
        list_views,
    )
    from .event_details import event_details, shown

    app.jinja_env.filters.setdefault("event_details", event_details)
    app.jinja_env.filters.setdefault("shown", shown)
    for code, label in CONSOLE_EVENTS.items():
        EVENTS.setdefault(code, label)
    TABLES.setdefault("audit_action", AUDIT_ACTIONS)
    app.register_blueprint(bp)
    nav.add(app, nav.Item("console.instances", _l("Instances"), roles=VIEWERS, order=60))
    nav.add(app, nav.Item("console.audit", _l("Audit log"), roles=VIEWERS, order=64))
