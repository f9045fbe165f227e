"""GET /notifications (全部 / 未读), POST …/<id>/open (read it, go to its task), POST
…/<id>/read, POST …/read-all, GET+POST …/settings (where to e-mail them)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import Length, Optional, Regexp

from engine.errors import ValidationFailed
from engine.models import Notification, NotificationKind
from engine.programme.services import feedback
from engine.services import notification_mail, notifications

from ..inbox.listing import pages
from ..runtime import runtime
from ..safety import safe_next
from . import KINDS, bp

FILTERS = {"all": _l("All"), "unread": _l("Unread")}


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("", strict_slashes=False)
def index() -> Any:
    show = request.args.get("show", "all")
    show = show if show in FILTERS else "all"
    size = int(current_app.config["IRPM_PAGE_SIZE"])
    page = _page()
    with runtime().uow(write=False) as uow:
        found = notifications.list_notifications(uow, g.actor.user, unread_only=show == "unread",
                                            limit=size, offset=(page - 1) * size)
        email = notification_mail.get_email(uow, g.actor.user)
    return render_template(
        "notifications/index.html", found=found, show=show, filters=FILTERS, kinds=KINDS,
        email=email, may_see_feedback=feedback.may_see_feedback(g.actor),
        pager=pages(page, found.total, size),
        url_with=lambda **kw: url_for("notifications.index", show=show, **kw))


def target(note: Notification) -> str:
    """Where a notification leads: its task, or the feedback list."""
    if note.kind == NotificationKind.FEEDBACK:
        return url_for("publicity.feedback_list")
    if note.task_id is not None:
        return url_for("tasks.show", task_id=note.task_id)
    return url_for("notifications.index")


@bp.post("/<int:notification_id>/open")
def open_(notification_id: int) -> Any:
    """Mark the notification read and go where it leads."""
    with runtime().uow() as uow:
        note = notifications.get_notification(uow, g.actor.user, notification_id)
        notifications.mark_read(uow, g.actor.user, [note.id])
    return redirect(target(note))


def _back() -> Any:
    return redirect(safe_next(request.form.get("next")) or url_for("notifications.index"))


@bp.post("/<int:notification_id>/read")
def read(notification_id: int) -> Any:
    with runtime().uow() as uow:
        notifications.get_notification(uow, g.actor.user, notification_id)
        notifications.mark_read(uow, g.actor.user, [notification_id])
    return _back()


@bp.post("/read-all")
def read_all() -> Any:
    with runtime().uow() as uow:
        changed = notifications.mark_read(uow, g.actor.user)
    if changed:
        flash(_("%(count)d notifications marked as read.", count=changed), "success")
    return _back()


class EmailForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        Optional(), Length(max=254, message=_l("At most %(max)d characters.", max=254)),
        Regexp(notification_mail.EMAIL, message=_l("This is not an e-mail address."))])


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Any:
    """Where notifications are e-mailed (empty: only in the app)."""
    with runtime().uow(write=False) as uow:
        current = notification_mail.get_email(uow, g.actor.user)
    form = EmailForm(data={"email": current or ""})
    if form.validate_on_submit():
        try:
            with runtime().uow() as uow:
                saved = notification_mail.set_email(uow, g.actor.user, form.email.data)
        except ValidationFailed:
            form.email.errors = [*form.email.errors, _("This is not an e-mail address.")]
        else:
            flash(_("Notifications will be e-mailed to %(email)s.", email=saved) if saved
                  else _("Notifications will no longer be e-mailed."), "success")
            return redirect(url_for("notifications.index"))
    smtp = runtime().extensions.get(notifications.KEY)
    mail_on = bool(smtp is not None and smtp.smtp.enabled)
    return render_template("notifications/settings.html", form=form, mail_on=mail_on), \
        400 if form.errors else 200
