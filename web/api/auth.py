"""Who calls the API: a personal API token, or the browser's signed-in session.

Before every API operation:

* ``Authorization: Bearer <token>`` — the token's account acts (``g.actor``), whatever
  session cookie comes along; a bad, revoked or expired token is 401, never a fall-back to
  the session. Token calls need no CSRF token: a browser cannot attach the header to a
  forged cross-site request.
* else the session of ``web.auth`` (which already set ``g.actor``): unsafe methods then need
  the page's CSRF token in the ``X-CSRFToken`` header, like every form of the app.
* else anonymous: 401 with a JSON body (never a redirect to the sign-in page) — except for
  the operations marked ``base.public``.
"""

from __future__ import annotations

from flask import current_app, g, request

from engine.errors import ConcurrentUpdate
from engine.services import api_tokens

from ..runtime import runtime
from ..security import csrf
from .base import is_public
from .errors import ApiError

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="irpm"'}


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers=CHALLENGE)


def _token_actor(token: str) -> api_tokens.TokenUse | None:
    rt = runtime()
    with rt.uow(write=False) as uow:
        use = api_tokens.authenticate_token(uow, token)
    if use is not None and use.needs_touch:
        try:
            with rt.uow() as uow:
                api_tokens.touch_token(uow, use.token_id)
        except ConcurrentUpdate:  # another request recorded a use just now: good enough
            pass
    return use


def authenticate() -> None:
    """The API blueprint's ``before_request``."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("invalid_token", "Send the API token as "
                                "'Authorization: Bearer <token>'.")
        use = _token_actor(token.strip())
        if use is None:
            raise _unauthorized("invalid_token", "The API token is unknown, revoked or "
                                "expired, or its account is disabled.")
        g.actor, g.api_auth = use.actor, "token"
        return
    if g.get("actor") is not None:
        g.api_auth = "session"
        if request.method in UNSAFE and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # raises CSRFError: 400 csrf_failed
        return
    g.api_auth = None
    if not is_public(current_app.view_functions.get(request.endpoint or "")):
        raise _unauthorized("unauthenticated", "Sign in, or send an API token as "
                            "'Authorization: Bearer <token>'.")
