"""GET/POST /login (throttled: ``engine.programme.services.signin``), POST /logout (which
ends every session of the account)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.programme.services import signin

from ..access import public
from ..runtime import runtime
from ..safety import safe_next
from . import PASSWORD_STAMP, SEEN, SESSION_VERSION, SIGNED_IN, bp, signin_throttle, wall_time
from .users import User, load_user


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=1024)])
    next = HiddenField()


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(round(seconds) / 60))


def _locked(seconds: float) -> str:
    return _("This account is locked after too many failed sign-ins. Please try again in "
             "%(minutes)d minutes, or ask an administrator to unlock it.",
             minutes=_minutes(seconds))


def _address_limited(seconds: float) -> str:
    return _("Too many failed sign-ins from your network address. Please try again in "
             "%(minutes)d minutes.", minutes=_minutes(seconds))


def _sign_in(username: str, password: str) -> tuple[User | None, str, int]:
    """The user, or why not (a message and the page's status): the throttle asked first,
    the password checked outside any transaction, a failure counted."""
    rt, throttle, address = runtime(), signin_throttle(), request.remote_addr
    now = datetime.fromtimestamp(wall_time(), UTC)
    with rt.uow(write=False) as uow:
        attempt = signin.check_attempt(uow, username, address,
                                       secret=current_app.secret_key or "",
                                       throttle=throttle, now=now)
    if attempt.refusal is signin.Refusal.ACCOUNT_LOCKED:
        return None, _locked(attempt.wait), 429
    if attempt.refusal is signin.Refusal.ADDRESS_LIMITED:
        return None, _address_limited(attempt.wait), 429
    if signin.password_matches(attempt, password):
        with rt.uow() as uow:
            signin.record_success(uow, attempt)
            user = load_user(uow, username)
        if user is not None:
            current_app.logger.info("signed in: %r from %s", username, address)
            return user, "", 302
    with rt.uow() as uow:
        outcome = signin.record_failure(uow, attempt, address, throttle=throttle, now=now)
    if outcome.locked_for is not None:
        return None, _locked(outcome.locked_for), 429
    return None, _("Wrong username or password."), 400


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        user, problem, status = _sign_in(form.username.data.strip(), form.password.data)
        if user is None:
            form.password.errors.append(problem)
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session: nothing carried over from before sign-in
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(user)
            session[SEEN] = session[SIGNED_IN] = int(wall_time())
            session[PASSWORD_STAMP] = user.password_stamp
            session[SESSION_VERSION] = user.session_version
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or url_for("index"))
    elif form.errors:
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Any:
    """Sign out — of every session of the account: a cookie saved before stops working."""
    username = current_user.get_id() if current_user.is_authenticated else None
    if username:
        with runtime().uow() as uow:
            signin.end_sessions(uow, username)
        current_app.logger.info("signed out: %r (every session)", username)
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
