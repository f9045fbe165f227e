"""GET /console/clock, POST /console/clock/set, POST /console/clock/advance: the simulated
clock's controls for rehearsals of the programme (administrators only).

They exist only in rehearsal mode — while the clock is simulated; on the system clock the
page says so and every move is refused, so a production clock can never be touched from the
browser. A move goes only forward and fires every timer falling due on the way, each at its
own time. Input is checked before anything is written: a refused move leaves the clock and
every instance as they were. Each move is written to the audit log (who, when, from and to,
how many timers fired, why). All of that is ``engine.services.clock.move_clock``, the
service the ``irpm clock`` commands call too; this module checks the form and shows the
outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.services import admin_rule, timers
from engine.services import clock as clock_service

from ..i18n import when
from ..runtime import runtime
from . import bp
from .schemas import AdvanceClockSchema, SetClockSchema, errors_text


def _admin_only() -> None:
    if not admin_rule.may_administer(g.actor):
        abort(403)


def _state() -> dict[str, Any]:
    with runtime().uow(write=False) as uow:
        return {"simulated": clock_service.is_simulated(uow), "now": clock_service.now(uow),
                "next_due": timers.next_due(uow)}


def _page(status: int = 200, errors: dict[str, list[str]] | None = None,
          form: str | None = None) -> Any:
    return render_template("dashboard/clock.html", clock=_state(), errors=errors or {},
                           form=form, values=request.form if form else {}), status


@bp.get("/clock")
def clock() -> Any:
    _admin_only()
    return _page()


def _move(action: str, reason: str, field: str, *, to: datetime | None = None,
          by: timedelta | None = None) -> Any:
    """Move the simulated clock ``to`` a time or ``by`` a span (``move_clock`` in rehearsal
    mode: it fires what falls due and audits the move); a refusal re-shows the form with the
    reason at ``field``."""
    try:
        with runtime().uow() as uow:
            moved = clock_service.move_clock(uow, to=to, by=by, rehearsal=True,
                                             audited_by=g.actor, reason=reason)
    except clock_service.ClockNotSimulated:
        return _page(409, {"clock": [_("The clock is not simulated: it can only be moved in "
                                       "rehearsal mode (a simulated time set with "
                                       "'irpm clock set').")]}, action)
    except clock_service.ClockNotAhead as refused:
        return _page(400, {field: [_("The clock already reads %(now)s; choose a later time (it "
                                     "never moves backwards).", now=when(refused.now))]}, action)
    flash(_("The clock now reads %(now)s; %(count)d timer(s) fired on the way.",
            now=when(moved.now), count=moved.fired), "success")
    return redirect(url_for("dashboard.clock"))


@bp.post("/clock/set")
def clock_set() -> Any:
    _admin_only()
    try:
        data = SetClockSchema().load(request.form)
    except ma.ValidationError as exc:
        return _page(400, errors_text(exc.normalized_messages()), "set")
    at: datetime = data["at"]
    return _move("set", data["reason"], "at", to=at)


@bp.post("/clock/advance")
def clock_advance() -> Any:
    _admin_only()
    try:
        data = AdvanceClockSchema().load(request.form)
    except ma.ValidationError as exc:
        return _page(400, errors_text(exc.normalized_messages()), "advance")
    step = timedelta(days=data["days"], hours=data["hours"])
    return _move("advance", data["reason"], "days", by=step)
