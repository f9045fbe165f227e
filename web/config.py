"""Every web setting with its default, in one place (the engine's are in engine.settings).

``defaults()`` gives Flask's config keys; ``from_env()`` overrides them from ``IRPM_*``
variables; ``create_app(config)`` overrides both. Nothing here connects or writes, except
``instance_secret_key``, which ``create_app`` calls only when no key was given.

=============================== ========== ==================================================
variable                        default    meaning
=============================== ========== ==================================================
``IRPM_SECRET_KEY``             —          signs sessions and CSRF tokens; without it a key is
                                           generated once into ``instance/secret_key``
``IRPM_SESSION_HOURS``          ``8``      a session ends after this long without a request
``IRPM_SECURE_COOKIES``         off        ``1``: cookies only over HTTPS (behind TLS)
``IRPM_NEAR_DUE_DAYS``          ``3``      a task due within this many days gets a yellow card
``IRPM_PAGE_SIZE``              ``25``     rows per inbox page
=============================== ========== ==================================================
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

#: Content-Security-Policy: everything from this origin only (Bootstrap's icons are data:
#: SVGs in its CSS). No inline script or style anywhere in the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'")

#: Languages offered by the switch, the first being the default.
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}


def defaults() -> dict[str, Any]:
    return {
        "SESSION_COOKIE_NAME": "irpm_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        # A form's CSRF token is valid as long as the session it belongs to.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": next(iter(LANGUAGES)),
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "IRPM_LANGUAGES": dict(LANGUAGES),
        "IRPM_CONTENT_SECURITY_POLICY": CONTENT_SECURITY_POLICY,
        "IRPM_NEAR_DUE_DAYS": 3,
        "IRPM_PAGE_SIZE": 25,
    }


def from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    if env.get("IRPM_SECRET_KEY"):
        found["SECRET_KEY"] = env["IRPM_SECRET_KEY"]
    if env.get("IRPM_SESSION_HOURS"):
        found["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(env["IRPM_SESSION_HOURS"]))
    if env.get("IRPM_SECURE_COOKIES"):
        found["SESSION_COOKIE_SECURE"] = env["IRPM_SECURE_COOKIES"].lower() in ("1", "true",
                                                                                 "yes")
    if env.get("IRPM_NEAR_DUE_DAYS"):
        found["IRPM_NEAR_DUE_DAYS"] = float(env["IRPM_NEAR_DUE_DAYS"])
    if env.get("IRPM_PAGE_SIZE"):
        found["IRPM_PAGE_SIZE"] = int(env["IRPM_PAGE_SIZE"])
    return found


def instance_secret_key(instance_path: str | Path) -> str:
    """The key in ``instance/secret_key``, generated on first use (readable by its owner
    only). Concurrent first starts agree: the file is created exclusively, and a loser reads
    the winner's key."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; delete it to generate one")
    return key
