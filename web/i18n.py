"""Languages: 简体中文 by default, English on request (Flask-Babel).

The choice is kept in the session and in a year-long cookie, so it survives signing out.
Catalogs: ``web/translations/<locale>/LC_MESSAGES/messages.po`` (committed), compiled to
``.mo`` by ``make setup``; message ids are English. Babel expands ``zh_CN`` to its full name,
``zh_Hans_CN``, and looks for that catalog: hence the directory's name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, request, session, url_for
from flask_babel import Babel, format_datetime, format_timedelta

from .access import public
from .safety import safe_next

bp = Blueprint("i18n", __name__)
COOKIE = "irpm_lang"


def languages() -> dict[str, str]:
    langs: dict[str, str] = current_app.config["IRPM_LANGUAGES"]
    return langs


def select_locale() -> str:
    for choice in (session.get("lang"), request.cookies.get(COOKIE)):
        if choice in languages():
            return str(choice)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.post("/language")
@public
def switch() -> Any:
    """Switch language (a form, CSRF-protected like every other) and go back."""
    lang = request.form.get("lang", "")
    response = redirect(safe_next(request.form.get("next")) or url_for("index"))
    if lang in languages():
        session["lang"] = lang
        response.set_cookie(COOKIE, lang, max_age=int(timedelta(days=365).total_seconds()),
                            httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def html_lang() -> str:
    """``zh-CN`` / ``en`` for ``<html lang>``."""
    return select_locale().replace("_", "-")


def when(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A time in the app's time zone (Beijing), for tables."""
    return format_datetime(value, fmt) if value is not None else ""


def span(delta: timedelta) -> str:
    """A duration in words (``3天`` / ``3 days``)."""
    return str(format_timedelta(delta, threshold=1.0, add_direction=False))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["span"] = span
    app.jinja_env.globals.update(html_lang=html_lang, languages=languages,
                                 current_locale=select_locale)
    app.register_blueprint(bp)
