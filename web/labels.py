"""Translated labels for the engine's codes (statuses, events, due states, cards), so every
template shows 中文 (or English) rather than ``task_claimed``."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

TASK_STATES = {"open": _l("Open"), "completed": _l("Completed"), "cancelled": _l("Cancelled")}
INSTANCE_STATUSES = {
    "running": _l("Running"), "waiting": _l("Waiting"), "completed": _l("Completed"),
    "suspended": _l("Suspended"), "terminated": _l("Terminated"), "error": _l("Error"),
}
DUE_STATES = {"overdue": _l("Overdue (red card)"), "near": _l("Due soon (yellow card)"),
              "later": _l("Not due soon"), "none": _l("No due date")}
CARDS = {"red_card": _l("Red card"), "yellow_card": _l("Yellow card")}
EVENTS = {
    "started": _l("Started"), "task_created": _l("Task created"),
    "task_claimed": _l("Task claimed"), "task_unclaimed": _l("Task released"),
    "task_delegated": _l("Task delegated"), "task_rerouted": _l("Task re-routed"),
    "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task cancelled"), "timer_fired": _l("Timer fired"),
    "error": _l("Error"), "retried": _l("Retried"), "suspended": _l("Suspended"),
    "resumed": _l("Resumed"), "terminated": _l("Terminated"), "completed": _l("Completed"),
    "message_received": _l("Message received"), "message_sent": _l("Message sent"),
    "signal_received": _l("Signal received"),
    "child_started": _l("Sub-process started"),
    "child_completed": _l("Sub-process completed"),
}
ROLES = {
    "staff": _l("Staff"), "department_head": _l("Department head"),
    "deputy_in_charge": _l("Deputy in charge"), "principal": _l("Principal"),
    "discipline_commission": _l("Discipline commission"), "designer": _l("Designer"),
    "admin": _l("Administrator"),
}
#: The roles of the groups a task is offered to (``engine.programme.services.people_names``).
GROUP_ROLES = {
    **ROLES, "post": _l("Post holder"), "dept": _l("Department members"),
    "unit": _l("Unit members"), "discipline_officer": _l("Discipline officer"),
}
TABLES = {"task_state": TASK_STATES, "instance_status": INSTANCE_STATUSES,
          "due_state": DUE_STATES, "card": CARDS, "event": EVENTS, "role": ROLES,
          "group_role": GROUP_ROLES}


def label(code: Any, table: str) -> str:
    """``{{ task.state|label('task_state') }}``; an unknown code shows as itself."""
    return str(TABLES[table].get(str(code), code))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
