"""The publicity pages (public) and the discipline officer's feedback list (signed in)."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden as HttpForbidden
from werkzeug.exceptions import NotFound as HttpNotFound
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.programme.services import feedback as feedback_service
from engine.programme.services import organisation, register_pages
from engine.programme.services.feedback import MAX_CONTACT, MAX_NOTE, MAX_TEXT

from ..access import public
from ..errors import describe
from ..inbox.listing import pages
from ..runtime import runtime
from ..safety import safe_next
from . import bp, limiter

LEVELS = {1: _l("Level 1"), 2: _l("Level 2"), 3: _l("Level 3")}
LEVEL_COLOURS = {1: "danger", 2: "warning", 3: "success"}
LEADER_ROLES = {"principal": _l("Principal"), "deputy_in_charge": _l("Deputy in charge"),
                "department_head": _l("Department head")}


def _process() -> str:
    return str(current_app.config["IRPM_FEEDBACK_PROCESS"])


@bp.get("", strict_slashes=False)
@public
def index() -> Any:
    """The units in publicity now."""
    with runtime().uow(write=False) as uow:
        units = feedback_service.units_in_publicity(uow, _process())
    return render_template("publicity/index.html", units=units)


def _entries(unit_code: str, year: int) -> tuple[Any, list[register_pages.PublicityEntry],
                                                 dict[str, Any]]:
    with runtime().uow(write=False) as uow:
        try:
            unit = organisation.get_unit(uow, unit_code)
        except NotFound:
            raise HttpNotFound() from None
        entries = register_pages.unit_publicity(uow, unit.code, year)
        open_posts = feedback_service.posts_in_publicity(uow, unit.code, _process())
    return unit, entries, open_posts


@bp.get("/<unit_code>/<int(max=2147483647):year>")
@public
def unit(unit_code: str, year: int) -> Any:
    """公示: a unit's published posts, their levels and the leaders answering for them."""
    found, entries, open_posts = _entries(unit_code, year)
    departments: OrderedDict[tuple[str, str], list[register_pages.PublicityEntry]] = OrderedDict()
    for entry in entries:
        departments.setdefault((entry.department_code, entry.department_name), []).append(entry)
    return render_template("publicity/unit.html", unit=found, year=year,
                           departments=departments, entries=entries, open_posts=open_posts,
                           levels=LEVELS, colours=LEVEL_COLOURS, roles=LEADER_ROLES)


class FeedbackForm(FlaskForm):
    text = TextAreaField(_l("Your opinion"), validators=[
        DataRequired(_l("Please write your opinion.")),
        Length(max=MAX_TEXT, message=_l("At most %(max)d characters.", max=MAX_TEXT))])
    contact = StringField(_l("How to reach you (optional)"), validators=[
        Optional(),
        Length(max=MAX_CONTACT, message=_l("At most %(max)d characters.", max=MAX_CONTACT))])
    #: The honeypot: hidden from people, so only robots fill it in.
    website = StringField(_l("Website (leave empty)"))


def _limited() -> Any:
    """429 with the time to wait, if this address sent too much feedback lately."""
    wait = limiter(current_app).hit(request.remote_addr or "unknown")
    if wait is None:
        return None
    response = current_app.make_response((render_template(
        "publicity/limited.html", minutes=max(1, math.ceil(wait / 60))), 429))
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


@bp.route("/<unit_code>/<int(max=2147483647):year>/<post_code>", methods=["GET", "POST"])
@public
def feedback(unit_code: str, year: int, post_code: str) -> Any:
    """群众提: a member of the public comments on one published post."""
    if request.method == "POST":  # every POST counts, whatever it holds
        refused = _limited()
        if refused is not None:
            return refused
    found, entries, open_posts = _entries(unit_code, year)
    entry = next((e for e in entries if e.post_code == post_code), None)
    if entry is None:
        raise HttpNotFound()
    form = FeedbackForm()
    if form.validate_on_submit():
        if form.website.data:  # a robot: thanked, and dropped
            return _thanks(found.code, year, delivered=True)
        try:
            with runtime().uow() as uow:
                receipt = feedback_service.submit_feedback(
                    uow, entry.post_code, form.text.data, form.contact.data, year=year,
                    address_hash=feedback_service.hash_address(request.remote_addr,
                                                       current_app.secret_key or ""),
                    process=_process())
        except ValidationFailed as exc:  # what the form's own checks let through
            field = form.contact if "contact" in exc.errors else form.text
            field.errors = [*field.errors, describe(exc)]
        else:
            return _thanks(found.code, year, delivered=receipt.delivered)
    status = 400 if form.errors else 200
    return render_template("publicity/feedback.html", unit=found, year=year, entry=entry,
                           form=form, open_until=open_posts.get(entry.post_code),
                           levels=LEVELS, colours=LEVEL_COLOURS, roles=LEADER_ROLES,
                           max_text=MAX_TEXT, max_contact=MAX_CONTACT), status


def _thanks(unit_code: str, year: int, *, delivered: bool) -> Any:
    flash(_("Thank you. Your opinion was received and goes to the unit's discipline officer "
            "for review.") if delivered else
          _("Thank you. Your opinion was received and will be handled."), "success")
    return redirect(url_for("publicity.unit", unit_code=unit_code, year=year))


# ------------------------------------------------------------ the officer's list (private)


class HandledForm(FlaskForm):
    note = TextAreaField(_l("How it was handled (optional)"), validators=[
        Optional(), Length(max=MAX_NOTE, message=_l("At most %(max)d characters.",
                                                    max=MAX_NOTE))])


@bp.get("/feedback")
def feedback_list() -> Any:
    """群众意见: the feedback of the units the user oversees as discipline officer."""
    if not feedback_service.may_see_feedback(g.actor):
        raise HttpForbidden()
    show = "all" if request.args.get("show") == "all" else "pending"
    size = int(current_app.config["IRPM_PAGE_SIZE"])
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    with runtime().uow(write=False) as uow:
        found = feedback_service.list_feedback(uow, g.actor, pending_only=show == "pending",
                                       limit=size, offset=(page - 1) * size)
    return render_template(
        "publicity/feedback_list.html", found=found, show=show, form=HandledForm(),
        pager=pages(page, found.total, size),
        url_with=lambda **kw: url_for("publicity.feedback_list", show=show, **kw))


def _officer_action(act: Any, done: str) -> Any:
    """Run ``act(uow, note)`` for a feedback form (note + CSRF); flash ``done`` or why not,
    and go back to the list the officer came from."""
    form = HandledForm()
    if form.validate_on_submit():
        try:
            with runtime().uow() as uow:
                act(uow, form.note.data)
        except (Conflict, Forbidden, ValidationFailed) as exc:
            flash(describe(exc), "danger")
        else:
            flash(done, "success")
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")
    return redirect(safe_next(request.form.get("next")) or url_for("publicity.feedback_list"))


@bp.post("/feedback/<int:feedback_id>/handled")
def feedback_handled(feedback_id: int) -> Any:
    return _officer_action(
        lambda uow, note: feedback_service.mark_feedback_handled(uow, feedback_id, g.actor, note),
        _("The feedback is marked as handled."))


@bp.post("/feedback/<int:feedback_id>/reopen")
def feedback_reopen(feedback_id: int) -> Any:
    """Take the feedback as an objection: the post's grading goes back to review."""
    return _officer_action(
        lambda uow, note: feedback_service.reopen_review(uow, feedback_id, g.actor, note),
        _("The post's grading is back in review; it will be published again."))


@bp.post("/feedback/<int:feedback_id>/complaint")
def feedback_complaint(feedback_id: int) -> Any:
    """Uphold the feedback as a complaint about the post holder: a disposal (后期处置) starts."""
    return _officer_action(
        lambda uow, note: feedback_service.uphold_complaint(uow, feedback_id, g.actor, note),
        _("A disposal of the post was started; the feedback is handled."))
