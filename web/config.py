"""Every web setting with its default, in one place (the engine's are in engine.settings,
the scheduler's in scheduler.config; README.md's "设置 · Settings" lists them all).

``defaults()`` gives Flask's config keys; ``from_env()`` overrides them from ``IRPM_*``
variables — the only place the web app reads the environment; ``create_app(config)``
overrides both, and the blueprints read ``app.config``. Nothing here connects or writes,
except ``instance_secret_key``, which ``create_app`` calls only when no key was given.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.settings import PROJECT_ROOT

#: Flask's instance folder: the generated secret key, and evidence files by default.
INSTANCE_PATH = PROJECT_ROOT / "instance"

#: Content-Security-Policy: everything from this origin only (Bootstrap's icons are data:
#: SVGs in its CSS). No inline script or style anywhere in the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'")

#: Languages offered by the switch, the first being the default.
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
#: How notifications are e-mailed (``engine.mail.SmtpSettings.from_mapping`` reads them from
#: the config; unset, the engine's defaults: no e-mail).
SMTP_KEYS = ("IRPM_SMTP_HOST", "IRPM_SMTP_PORT", "IRPM_SMTP_USER", "IRPM_SMTP_PASSWORD",
             "IRPM_SMTP_FROM", "IRPM_SMTP_STARTTLS", "IRPM_SMTP_TIMEOUT",
             "IRPM_SMTP_MAX_ATTEMPTS", "IRPM_SMTP_RETRY_SECONDS", "IRPM_BASE_URL")


def defaults() -> dict[str, Any]:
    return {
        "SESSION_COOKIE_NAME": "irpm_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # IRPM_SECURE_COOKIES: cookies only over HTTPS (behind TLS).
        "SESSION_COOKIE_SECURE": False,
        # IRPM_SESSION_HOURS: a session ends after this long without a request.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        # IRPM_SESSION_MAX_HOURS: ...and this long after the sign-in, however busy (web.auth).
        "IRPM_SESSION_MAX_AGE": timedelta(hours=12),
        # Request bodies (web.limits): at most this many bytes from a signed-in user (an
        # evidence upload's page allows its own: IRPM_MAX_EVIDENCE_BYTES and room for the
        # form), at most IRPM_MAX_ANONYMOUS_BYTES from anyone else; larger is a 413, refused
        # before anything is read.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "IRPM_MAX_ANONYMOUS_BYTES": 64 * 1024,
        # Werkzeug's form parser: at most this much per field held in memory (files are
        # spooled to disk), at most this many fields and files per request.
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1000,
        # Sign-in throttle (engine.programme.services.signin, counted in the database):
        # this many failures of one account within the window lock it for the lockout;
        # this many from one address within the window make it wait.
        "IRPM_SIGNIN_ACCOUNT_LIMIT": 5,
        "IRPM_SIGNIN_ADDRESS_LIMIT": 50,
        "IRPM_SIGNIN_WINDOW": 900.0,
        "IRPM_SIGNIN_LOCKOUT": 900.0,
        # The proxies whose X-Forwarded-For/-Proto are believed (web.proxies): addresses or
        # networks, comma-separated; a number of hops; "*"; empty: none.
        "IRPM_FORWARDED_ALLOW_IPS": "127.0.0.1",
        # A form's CSRF token is valid as long as the session it belongs to.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": next(iter(LANGUAGES)),
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "IRPM_LANGUAGES": dict(LANGUAGES),
        "IRPM_CONTENT_SECURITY_POLICY": CONTENT_SECURITY_POLICY,
        # A task due within this many days gets a yellow card (inbox, notifications).
        "IRPM_NEAR_DUE_DAYS": 3,
        # Rows per inbox page.
        "IRPM_PAGE_SIZE": 25,
        # Where evidence files are kept (named by sha256; not served as static files), and
        # the largest one accepted (web.tasks).
        "IRPM_EVIDENCE_DIR": os.path.join(INSTANCE_PATH, "evidence"),
        "IRPM_MAX_EVIDENCE_BYTES": 10 * 1024 * 1024,
        # The process public feedback is sent to (its business key is the post's code).
        "IRPM_FEEDBACK_PROCESS": "post_cycle",
        # Feedback requests one address may send per window of seconds (web.ratelimit).
        "IRPM_FEEDBACK_LIMIT": 5,
        "IRPM_FEEDBACK_WINDOW": 3600.0,
    }


def _flag(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


#: The variables the web app reads: each sets a config key, its text read so.
VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "IRPM_SECRET_KEY": ("SECRET_KEY", str),
    "IRPM_SESSION_HOURS": ("PERMANENT_SESSION_LIFETIME", lambda text: timedelta(
        hours=float(text))),
    "IRPM_SESSION_MAX_HOURS": ("IRPM_SESSION_MAX_AGE", lambda text: timedelta(
        hours=float(text))),
    "IRPM_SECURE_COOKIES": ("SESSION_COOKIE_SECURE", _flag),
    "IRPM_MAX_REQUEST_BYTES": ("MAX_CONTENT_LENGTH", int),
    "IRPM_MAX_ANONYMOUS_BYTES": ("IRPM_MAX_ANONYMOUS_BYTES", int),
    "IRPM_SIGNIN_ACCOUNT_LIMIT": ("IRPM_SIGNIN_ACCOUNT_LIMIT", int),
    "IRPM_SIGNIN_ADDRESS_LIMIT": ("IRPM_SIGNIN_ADDRESS_LIMIT", int),
    "IRPM_SIGNIN_WINDOW": ("IRPM_SIGNIN_WINDOW", float),
    "IRPM_SIGNIN_LOCKOUT": ("IRPM_SIGNIN_LOCKOUT", float),
    "IRPM_FORWARDED_ALLOW_IPS": ("IRPM_FORWARDED_ALLOW_IPS", str),
    "IRPM_NEAR_DUE_DAYS": ("IRPM_NEAR_DUE_DAYS", float),
    "IRPM_PAGE_SIZE": ("IRPM_PAGE_SIZE", int),
    "IRPM_EVIDENCE_DIR": ("IRPM_EVIDENCE_DIR", str),
    "IRPM_MAX_EVIDENCE_BYTES": ("IRPM_MAX_EVIDENCE_BYTES", int),
    "IRPM_FEEDBACK_PROCESS": ("IRPM_FEEDBACK_PROCESS", str),
    "IRPM_FEEDBACK_LIMIT": ("IRPM_FEEDBACK_LIMIT", int),
    "IRPM_FEEDBACK_WINDOW": ("IRPM_FEEDBACK_WINDOW", float),
    **{key: (key, str) for key in SMTP_KEYS},
}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings the ``IRPM_*`` variables set (an unset or empty one sets nothing)."""
    env = os.environ if environ is None else environ
    return {key: read(env[name]) for name, (key, read) in VARIABLES.items() if env.get(name)}


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
