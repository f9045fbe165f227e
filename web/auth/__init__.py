"""Sign-in (Flask-Login over ``engine.programme.services.signin``: the password, throttled
per account and per address, with lockouts), sign-out, session expiry, and the gate that
refuses anonymous requests to every endpoint not marked public.

A session ends — the cookie, even a saved copy, stops working —

* after ``PERMANENT_SESSION_LIFETIME`` without a request (``IRPM_SESSION_HOURS``, 8 h);
* ``IRPM_SESSION_MAX_AGE`` after the sign-in however busy (``IRPM_SESSION_MAX_HOURS``, 12 h);
* when the account's session version moves on (``Account.session_version``, written into
  the cookie at sign-in and compared on every request): a sign-out ends every session of the
  account, as do a password change and an administrator's "sign out everywhere";
* when the account is disabled or removed.

The times are the wall clock, ``wall_time()``: tests put a clock (a callable giving UNIX
seconds) in ``app.extensions[WALL_CLOCK]`` and move it instead of sleeping.

Per request, ``g.actor`` is the engine ``Actor`` of the signed-in user (None when
anonymous): views hand it to services, which decide what the user may see and do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
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

from engine.programme.services.signin import Throttle

from ..access import is_public
from ..runtime import runtime
from .users import User, load_user

bp = Blueprint("auth", __name__, template_folder="templates")

#: Session keys: the last request's time (idle expiry), the password's stamp, the sign-in's
#: time (absolute expiry) and the account's session version then.
SEEN, PASSWORD_STAMP = "irpm_seen", "irpm_pw"
SIGNED_IN, SESSION_VERSION = "irpm_since", "irpm_sv"
#: ``app.extensions`` key of a clock replacing ``time.time`` (tests).
WALL_CLOCK = "irpm_wall_clock"


def wall_time() -> float:
    """Now, in UNIX seconds."""
    clock = current_app.extensions.get(WALL_CLOCK)
    return float(clock()) if callable(clock) else time.time()


def signin_throttle(config: Mapping[str, Any] | None = None) -> Throttle:
    """The sign-in limits from the app's settings (``web.config``), or from ``config``."""
    config = current_app.config if config is None else config
    return Throttle(account_limit=int(config["IRPM_SIGNIN_ACCOUNT_LIMIT"]),
                    address_limit=int(config["IRPM_SIGNIN_ADDRESS_LIMIT"]),
                    window=float(config["IRPM_SIGNIN_WINDOW"]),
                    lockout=float(config["IRPM_SIGNIN_LOCKOUT"]))


def _user_loader(username: str) -> User | None:
    with runtime().uow(write=False) as uow:
        user = load_user(uow, username)
    if (user is None or session.get(PASSWORD_STAMP) != user.password_stamp
            or session.get(SESSION_VERSION) != user.session_version):
        return None
    return user


def _expired() -> Any:
    """Why the session has ended (a message), or None while it lasts."""
    now = wall_time()
    seen, since = session.get(SEEN), session.get(SIGNED_IN)
    idle = current_app.permanent_session_lifetime.total_seconds()
    if not isinstance(seen, int | float) or now - seen > idle:
        return _l("Your session has expired. Please sign in again.")
    longest = current_app.config["IRPM_SESSION_MAX_AGE"].total_seconds()
    if not isinstance(since, int | float) or now - since > longest:
        hours = format(longest / 3600, "g")
        return _l("You have been signed in for %(hours)s hours, the longest a session "
                  "lasts. Please sign in again.", hours=hours)
    return None


def _refuse() -> Any:
    """Anonymous: JSON 401 to a client that asks for JSON, else the sign-in page."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(code="unauthenticated", message=str(_l("Please sign in."))), 401
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


def gate() -> Any:
    """Before every request: end an idle or too old session, forget one that has ended
    elsewhere (sign-out, password change, disabled account), set ``g.actor``, refuse
    anonymous access to anything not public."""
    g.actor = None
    if current_user.is_authenticated:
        ended = _expired()
        if ended is None:
            session[SEEN] = int(wall_time())
            g.actor = current_user.actor
            return None
        logout_user()
        session.clear()
        flash(ended, "warning")
    elif session.get("_user_id") is not None:  # the loader refused it: drop the dead cookie
        lang = session.get("lang")
        logout_user()
        session.clear()
        if lang:
            session["lang"] = lang
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
