"""GET /profile (个人中心) with the signed-in user's API tokens; POST /profile/tokens creates
one and shows it this once; POST /profile/tokens/<id>/revoke revokes one. Forms are
CSRF-protected like every other; the docs page's script is served from here too."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import IrpmError, ValidationFailed
from engine.services import api_tokens, clock

from .. import nav
from ..errors import describe
from ..runtime import runtime

bp = Blueprint("api_pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/api")

LIFETIMES = (30, 90, 180, 365)


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[
        DataRequired(_l("Give the token a name.")),
        Length(max=api_tokens.MAX_NAME, message=_l("At most %(max)d characters.",
                                                   max=api_tokens.MAX_NAME))])
    expires_in_days = SelectField(_l("Valid for"), coerce=int,
                                  default=api_tokens.DEFAULT_DAYS)


def _form() -> TokenForm:
    form = TokenForm()
    form.expires_in_days.choices = [(days, _("%(days)d days", days=days))
                                    for days in LIFETIMES]
    return form


def _page(form: TokenForm, new: Any = None, status: int = 200) -> tuple[str, int]:
    with runtime().uow(write=False) as uow:
        tokens = api_tokens.list_tokens(uow, g.actor.user)
        now = clock.now(uow)
    return render_template("api/profile.html", user=current_user, tokens=tokens, form=form,
                           new=new, now=now), status


@bp.get("/profile")
def profile() -> Any:
    return _page(_form())


@bp.post("/profile/tokens")
def create_token() -> Any:
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        with runtime().uow() as uow:
            new = api_tokens.create_token(uow, g.actor.user, form.name.data or "",
                                        expires_in_days=form.expires_in_days.data)
    except ValidationFailed as exc:
        form.name.errors = [*form.name.errors, describe(exc)]
        return _page(form, status=400)
    return _page(_form(), new=new, status=201)


@bp.post("/profile/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    try:
        with runtime().uow() as uow:
            token = api_tokens.revoke_token(uow, g.actor.user, token_id)
    except IrpmError as exc:
        flash(describe(exc), "danger")
    else:
        flash(_("The API token “%(name)s” was revoked.", name=token.name), "success")
    return redirect(url_for("api_pages.profile"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    nav.add(app, nav.Item("api_pages.profile", _l("Profile"), order=90))
