"""The account page (/console/accounts?username=…): whether an account is locked after
failed sign-ins, and the administrator's two remedies — unlock it, or sign it out
everywhere (every session ends at once: a lost laptop, a stolen cookie). Each is
``engine.programme.services.signin``'s, audited; ``irpm accounts`` does the same from a
shell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import IrpmError, NotFound
from engine.programme.services import signin

from ..auth import signin_throttle, wall_time
from ..errors import describe
from ..runtime import runtime
from . import bp, may_act
from .forms import ReasonForm, first_error, load


@bp.get("/accounts")
def accounts() -> Any:
    username = request.args.get("username", "").strip()[:64]
    found, status = None, 200
    if username:
        try:
            with runtime().uow(write=False) as uow:
                found = signin.account_state(uow, username, throttle=signin_throttle(),
                                             now=datetime.fromtimestamp(wall_time(), UTC))
        except NotFound:
            status = 404
    return render_template("console/accounts.html", username=username, found=found,
                           may_act=may_act()), status


@bp.post("/accounts/<username>/<any(unlock, 'sign-out'):operation>")
def account_action(username: str, operation: str) -> Any:
    if not may_act():
        abort(403)
    back = redirect(url_for("console.accounts", username=username), 303)
    try:
        reason = load(ReasonForm, request.form)["reason"]
    except ma.ValidationError as exc:
        flash(_("Refused: %(reason)s", reason=first_error(exc)), "danger")
        return back
    try:
        with runtime().uow() as uow:
            if operation == "unlock":
                lifted = signin.unlock_account(uow, username, g.actor, reason)
            else:
                signin.end_sessions(uow, username, g.actor, reason)
    except IrpmError as exc:
        flash(_("Refused: %(reason)s", reason=exc.message or describe(exc)), "danger")
        return back
    if operation == "unlock":
        flash(_("%(user)s is unlocked.", user=username) if lifted
              else _("%(user)s was not locked.", user=username), "success")
    else:
        flash(_("Every session of %(user)s has ended.", user=username), "success")
    return back
