"""POST claim / unclaim, GET+POST delegate: each one engine service call in its own unit
of work; refusals come back as a flashed sentence, never a stack trace."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from engine.errors import IrpmError, ValidationFailed
from engine.programme.services import organisation
from engine.services import tasks

from ..errors import describe
from ..runtime import runtime
from ..safety import safe_next
from . import bp


def _back(default: str | None = None) -> Any:
    return redirect(safe_next(request.form.get("next")) or default
                    or url_for("inbox.tasks", view="mine"))


@bp.post("/tasks/<uuid:task_id>/claim")
def claim(task_id: uuid.UUID) -> Any:
    try:
        with runtime().uow() as uow:
            task = tasks.claim_task(uow, task_id, g.actor)
    except IrpmError as exc:
        flash(describe(exc), "danger")
    else:
        flash(_("You claimed “%(task)s”. It is now in My tasks.", task=task.name), "success")
    return _back()


@bp.post("/tasks/<uuid:task_id>/unclaim")
def unclaim(task_id: uuid.UUID) -> Any:
    try:
        with runtime().uow() as uow:
            task = tasks.unclaim_task(uow, task_id, g.actor)
    except IrpmError as exc:
        flash(describe(exc), "danger")
    else:
        flash(_("You released “%(task)s”. Your group can claim it again.", task=task.name),
              "success")
    return _back()


class DelegateForm(FlaskForm):
    to = SelectField(_l("Colleague"), validators=[DataRequired(_l("Choose a colleague."))],
                     validate_choice=True)
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Give a reason.")),
        Length(max=tasks.MAX_REASON,
               message=_l("At most %(max)d characters.", max=tasks.MAX_REASON))])
    next = HiddenField()


@bp.route("/tasks/<uuid:task_id>/delegate", methods=["GET", "POST"])
def delegate(task_id: uuid.UUID) -> Any:
    """转办: hand the task to a colleague of the same department, with a reason."""
    with runtime().uow(write=False) as uow:
        task = tasks.view_task(uow, task_id, g.actor)
        colleagues = organisation.colleagues(uow, g.actor.user)
    form = DelegateForm(next=request.args.get("next", ""))
    form.to.choices = [("", _("— choose —"))] + [
        (c.username, f"{c.name}（{'、'.join(c.posts)}）" if c.posts else c.name)
        for c in colleagues]
    if form.validate_on_submit():
        try:
            with runtime().uow() as uow:
                tasks.delegate_task(uow, task_id, g.actor, form.to.data, form.reason.data)
        except ValidationFailed as exc:
            form.to.errors = [*form.to.errors, describe(exc)]
        except IrpmError as exc:
            flash(describe(exc), "danger")
        else:
            name = dict(form.to.choices).get(form.to.data, form.to.data)
            flash(_("“%(task)s” was handed to %(name)s.", task=task.name, name=name),
                  "success")
            return redirect(safe_next(form.next.data) or url_for("inbox.tasks", view="mine"))
    status = 400 if form.errors else 200
    return render_template("inbox/delegate.html", task=task, form=form,
                           colleagues=colleagues), status
