"""``irpm accounts show|unlock|sign-out USER`` — an account's sign-in state, lifting its
lockout after too many failed sign-ins, and ending every session it has (a lost laptop, a
stolen cookie). Registered on ``irpm`` by web/cli/__init__.py.

The services are ``engine.programme.services.signin``'s, the ones the console's account page
calls. Unlocking and signing out are administrative acts: an administrator (``--user`` /
``--by``, default IRPM_USER; unset: the shell operator ``shell:<login>``) with a
``--reason``, written to the audit log under that name. The throttle's window and lockout
for ``show`` are the web app's settings (``IRPM_SIGNIN_*``, read by web.config)."""

from __future__ import annotations

import click

from engine.programme.services import signin

from .. import config as web_config
from ..auth import signin_throttle
from .state import State, operator, operator_option, reason_option


@click.group()
def accounts() -> None:
    """Accounts' sign-in: lockouts after failed sign-ins, sessions."""


@accounts.command("show")
@click.argument("username")
@click.pass_obj
def show(state: State, username: str) -> None:
    """Whether USERNAME is locked, its recent failed sign-ins and session version."""
    throttle = signin_throttle({**web_config.defaults(), **web_config.from_env()})
    with state.rt.uow(write=False) as uow:
        found = signin.account_state(uow, username, throttle=throttle)
    locked = (f"locked for {found.locked_for / 60:.0f} more minute(s)"
              if found.locked_for is not None else "not locked")
    state.say({"username": found.username, "active": found.active,
               "locked_seconds": found.locked_for, "failures": found.failures,
               "session_version": found.session_version},
              f"{found.username}: {'active' if found.active else 'disabled'}, {locked}, "
              f"{found.failures} recent failed sign-in(s), session version "
              f"{found.session_version}")


@accounts.command("unlock")
@click.argument("username")
@operator_option
@reason_option
@click.pass_obj
def unlock(state: State, username: str, operator_name: str | None, reason: str | None) -> None:
    """Lift USERNAME's lockout and forget its failed sign-ins (audited)."""
    with state.rt.uow() as uow:
        lifted = signin.unlock_account(uow, username, operator(uow, operator_name), reason)
    state.say({"username": username, "unlocked": lifted},
              f"{username}: unlocked" if lifted else f"{username} was not locked")


@accounts.command("sign-out")
@click.argument("username")
@operator_option
@reason_option
@click.pass_obj
def sign_out(state: State, username: str, operator_name: str | None,
             reason: str | None) -> None:
    """End every session of USERNAME at once: each browser must sign in again (audited).
    API tokens are not affected: revoke them on the profile page."""
    with state.rt.uow() as uow:
        version = signin.end_sessions(uow, username, operator(uow, operator_name), reason)
    state.say({"username": username, "session_version": version},
              f"{username}: every session ended")
