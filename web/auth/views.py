"""GET/POST /login, POST /logout."""

from __future__ import annotations

import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.programme.services import organisation

from ..access import public
from ..runtime import runtime
from ..safety import safe_next
from . import PASSWORD_STAMP, SEEN, bp
from .users import load_user


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=1024)])
    next = HiddenField()


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        username = form.username.data.strip()
        with runtime().uow(write=False) as uow:
            account = organisation.authenticate(uow, username, form.password.data)
            user = load_user(uow, account.username) if account is not None else None
        if user is None:
            form.password.errors.append(_("Wrong username or password."))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session: nothing carried over from before sign-in
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(user)
            session[SEEN] = int(time.time())
            session[PASSWORD_STAMP] = user.password_stamp
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or url_for("index"))
    status = 200 if not form.errors else 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Any:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
