"""Sign-in (Flask-Login over ``engine.services.authenticate``), sign-out, session expiry,
and the gate that refuses anonymous requests to every endpoint not marked public.

Per request, ``g.actor`` is the engine ``Actor`` of the signed-in user (None when
anonymous): views hand it to services, which decide what the user may see and do.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, logout_user

from ..access import is_public
from ..runtime import runtime
from .users import User, load_user

bp = Blueprint("auth", __name__, template_folder="templates")

#: Session keys: the last request's time (idle expiry) and the password's stamp.
SEEN, PASSWORD_STAMP = "irpm_seen", "irpm_pw"


def _user_loader(username: str) -> User | None:
    with runtime().uow(write=False) as uow:
        user = load_user(uow, username)
    if user is None or session.get(PASSWORD_STAMP) != user.password_stamp:
        return None
    return user


def _expired() -> bool:
    seen = session.get(SEEN)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return not isinstance(seen, int | float) or time.time() - seen > lifetime


def _refuse() -> Any:
    """Anonymous: JSON 401 to a client that asks for JSON, else the sign-in page."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(code="unauthenticated", message=str(_l("Please sign in."))), 401
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


def gate() -> Any:
    """Before every request: end an idle session, set ``g.actor``, refuse anonymous access
    to anything not public."""
    g.actor = None
    if current_user.is_authenticated:
        if _expired():
            logout_user()
            session.clear()
            flash(_l("Your session has expired. Please sign in again."), "warning")
        else:
            session[SEEN] = int(time.time())
            g.actor = current_user.actor
            return None
    if is_public(current_app, request.endpoint, request.blueprint):
        return None
    return _refuse()


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(_user_loader)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please sign in.")
    manager.login_message_category = "info"
    app.before_request(gate)
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
