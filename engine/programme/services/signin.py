"""Signing in with a password, throttled; locking and unlocking accounts; ending sessions.

Failed sign-ins are counted in the database (``engine.services.rate_limits``: the
``rate_limit`` table the public feedback's limit uses), so every worker and host on the
database shares the counts and a restart forgets nothing:

* per account — ``Throttle.account_limit`` failures within ``Throttle.window`` seconds lock
  the account for ``Throttle.lockout`` seconds: while locked, even the right password is
  refused (the password is not even checked), and the message says for how long. The
  failures are then forgotten, so after the lockout the account has its full allowance again.
  A name that is no account is counted and "locked" the same way, so the answers do not
  tell which names exist.
* per client address — ``Throttle.address_limit`` failures within the window refuse every
  further attempt from the address until the oldest of them leaves the window.

A successful sign-in forgets the account's failures (not the address's). Every failure and
every refusal is logged (``logging``, logger ``irpm.signin``); a lockout of an existing
account, an administrator's unlock and an administrator's "sign out everywhere" are also
written to the audit log (``engine.services.audit``).

A sign-in is three steps, so no transaction is held open during the slow password hash:
``check_attempt`` (reads: may this attempt be made at all?), ``password_matches`` (scrypt,
outside any transaction) and ``record_failure`` / ``record_success`` (write, commit).

The keys are never the raw address or typed name: an address and a name that is no account
are kept as a keyed hash (the web app's secret, as for feedback); an existing account as
``account:<id>``, so ``unlock_account`` (the console, ``irpm accounts unlock``) needs no
secret. Times are the real time (a limit is about requests arriving now, whatever day the
simulated clock shows); ``now`` is a parameter so tests move time instead of sleeping.

Sessions: ``Account.session_version`` goes into the session cookie at sign-in and is
compared on every request (``web.auth``); ``end_sessions`` increases it — at sign-out, on
a password change (``organisation.save_account``) and from an administrator — ending every
session of the account at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from sqlalchemy import select

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import NotFound
from ...passwords import hash_password, verify_password
from ...services import admin_rule, audit, rate_limits
from ..models import Account

__all__ = ["SCOPE_ACCOUNT", "SCOPE_ADDRESS", "SCOPE_LOCK", "AccountState", "Attempt",
           "Outcome", "Refusal", "Throttle", "account_state", "check_attempt", "end_sessions",
           "password_matches", "record_failure", "record_success", "unlock_account"]

log = logging.getLogger("irpm.signin")

#: Failed sign-ins per account (or per typed name that is no account).
SCOPE_ACCOUNT = "signin-account"
#: Failed sign-ins per client address.
SCOPE_ADDRESS = "signin-address"
#: An account's lockout: one hit that lasts ``Throttle.lockout`` seconds.
SCOPE_LOCK = "signin-lock"


@dataclass(frozen=True)
class Throttle:
    """The sign-in limits (the web app's ``IRPM_SIGNIN_*`` settings)."""

    #: Failed sign-ins of one account within ``window`` that lock it.
    account_limit: int = 5
    #: Failed sign-ins from one address within ``window`` after which it must wait.
    address_limit: int = 50
    #: Seconds the failures are counted over.
    window: float = 900.0
    #: Seconds a locked account stays locked (unless an administrator unlocks it).
    lockout: float = 900.0


class Refusal(StrEnum):
    """Why an attempt is refused before the password is looked at."""

    ACCOUNT_LOCKED = "account_locked"
    ADDRESS_LIMITED = "address_limited"


@dataclass(frozen=True)
class Attempt:
    """What ``check_attempt`` found: whose password to check, or why not to try."""

    username: str
    account_key: str
    address_key: str
    #: The account's id and hash, None when the name is no active account.
    account_id: int | None
    password_hash: str | None = field(repr=False)
    #: Failures of the account so far inside the window.
    failures: int
    refusal: Refusal | None = None
    #: Seconds until the refusal ends.
    wait: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What a failed attempt led to."""

    failures: int
    #: This failure locked the account (None: not locked; else seconds it stays locked).
    locked_for: float | None = None


def _digest(text: str, secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _account_key(uow: UnitOfWork, username: str, secret: str | bytes) -> tuple[str, Account | None]:
    account = uow.session.scalar(select(Account).where(Account.username == username))
    if account is not None:
        return f"account:{account.id}", account
    return _digest(f"name:{username}", secret), None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def check_attempt(uow: UnitOfWork, username: str, address: str | None, *,
                  secret: str | bytes, throttle: Throttle,
                  now: datetime | None = None) -> Attempt:
    """May someone at ``address`` try ``username``'s password now? Reads only. A refusal is
    logged here."""
    now = _now(now)
    account_key, account = _account_key(uow, username, secret)
    address_key = _digest(f"address:{address or 'unknown'}", secret)
    usable = account is not None and account.active
    failures = len(rate_limits.rate_limit_hits(uow, SCOPE_ACCOUNT, account_key,
                                               window=throttle.window, now=now))
    attempt = Attempt(username, account_key, address_key,
                      account.id if usable and account is not None else None,
                      account.password_hash if usable and account is not None else None,
                      failures)
    locked = rate_limits.rate_limit_wait(uow, SCOPE_LOCK, account_key, limit=1,
                                         window=throttle.lockout, now=now)
    if locked is not None:
        log.warning("sign-in refused: account %r is locked for %.0f s more (from %s)",
                    username, locked, address)
        return _refused(attempt, Refusal.ACCOUNT_LOCKED, locked)
    limited = rate_limits.rate_limit_wait(uow, SCOPE_ADDRESS, address_key,
                                          limit=throttle.address_limit,
                                          window=throttle.window, now=now)
    if limited is not None:
        log.warning("sign-in refused: %s made %d failed sign-ins in %.0f s; %.0f s to wait "
                    "(account %r)", address, throttle.address_limit, throttle.window,
                    limited, username)
        return _refused(attempt, Refusal.ADDRESS_LIMITED, limited)
    return attempt


def _refused(attempt: Attempt, refusal: Refusal, wait: float) -> Attempt:
    return Attempt(attempt.username, attempt.account_key, attempt.address_key,
                   attempt.account_id, attempt.password_hash, attempt.failures, refusal, wait)


@cache
def _decoy_hash() -> str:
    return hash_password("decoy password, never matches")


def password_matches(attempt: Attempt, password: str) -> bool:
    """The password check (scrypt: call it outside any transaction). A name that is no
    active account costs the same time as a wrong password, so timing does not tell."""
    if attempt.refusal is not None:
        return False
    if attempt.password_hash is None:
        verify_password(_decoy_hash(), password)
        return False
    return verify_password(attempt.password_hash, password)


def record_failure(uow: UnitOfWork, attempt: Attempt, address: str | None, *,
                   throttle: Throttle, now: datetime | None = None) -> Outcome:
    """Count a wrong password against the account and the address; the account's
    ``account_limit``-th failure in the window locks it (logged, and audited for an existing
    account). Commits."""
    now = _now(now)
    rate_limits.hit_rate_limit(uow, SCOPE_ADDRESS, attempt.address_key,
                               limit=throttle.address_limit, window=throttle.window, now=now)
    over = rate_limits.hit_rate_limit(uow, SCOPE_ACCOUNT, attempt.account_key,
                                      limit=throttle.account_limit, window=throttle.window,
                                      now=now)
    failures = len(rate_limits.rate_limit_hits(uow, SCOPE_ACCOUNT, attempt.account_key,
                                               window=throttle.window, now=now))
    log.warning("sign-in failed: account %r from %s (%d of %d failures allowed in %.0f s)",
                attempt.username, address, failures, throttle.account_limit, throttle.window)
    if over is None and failures < throttle.account_limit:
        return Outcome(failures)
    fresh = rate_limits.hit_rate_limit(uow, SCOPE_LOCK, attempt.account_key, limit=1,
                                       window=throttle.lockout, now=now) is None
    rate_limits.clear_rate_limit(uow, SCOPE_ACCOUNT, attempt.account_key)
    if fresh:
        log.warning("account %r locked for %.0f s after %d failed sign-ins (the last from %s)",
                    attempt.username, throttle.lockout, failures, address)
        if attempt.account_key.startswith("account:"):
            audit.record_admin_action(
                uow, Actor.system(), "account_lock", f"account:{attempt.username}", None,
                {"failures": failures, "window_seconds": throttle.window,
                 "locked_seconds": throttle.lockout})
    uow.commit()
    return Outcome(failures, throttle.lockout)


def record_success(uow: UnitOfWork, attempt: Attempt) -> None:
    """Forget the account's failures (the address's stay). Commits."""
    if attempt.failures:
        rate_limits.clear_rate_limit(uow, SCOPE_ACCOUNT, attempt.account_key)
        uow.commit()


@dataclass(frozen=True)
class AccountState:
    """An account's sign-in state, for the console and ``irpm accounts show``."""

    username: str
    active: bool
    session_version: int
    failures: int
    #: Whole seconds the account stays locked, None when it is not.
    locked_for: float | None


def _account(uow: UnitOfWork, username: str) -> Account:
    account = uow.session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFound(f"no account '{username}'")
    return account


def _administrator(actor: Actor, reason: str | None) -> tuple[str, str]:
    """The acting administrator's name and the reason, by the one rule for administrative
    acts (``admin_rule``); refused before anything changes."""
    admin_rule.require_administrator(actor, "unlock accounts and end their sessions")
    return actor.user, admin_rule.require_reason(reason)


def account_state(uow: UnitOfWork, username: str, *, throttle: Throttle,
                  now: datetime | None = None) -> AccountState:
    now = _now(now)
    account = _account(uow, username)
    key = f"account:{account.id}"
    locked = rate_limits.rate_limit_wait(uow, SCOPE_LOCK, key, limit=1,
                                         window=throttle.lockout, now=now)
    return AccountState(
        account.username, account.active, account.session_version,
        len(rate_limits.rate_limit_hits(uow, SCOPE_ACCOUNT, key, window=throttle.window,
                                        now=now)),
        None if locked is None else float(round(locked)))


def unlock_account(uow: UnitOfWork, username: str, by: Actor,
                   reason: str | None = None) -> bool:
    """Lift the account's lockout and forget its failed sign-ins; True if it was locked or
    had failures. An administrative act: an administrator with a reason, audited (even when
    there was nothing to lift: the administrator acted). Commits."""
    who, reason = _administrator(by, reason)
    account = _account(uow, username)
    key = f"account:{account.id}"
    was_locked = rate_limits.clear_rate_limit(uow, SCOPE_LOCK, key)
    had_failures = rate_limits.clear_rate_limit(uow, SCOPE_ACCOUNT, key)
    audit.record_admin_action(uow, who, "account_unlock", f"account:{account.username}", reason,
                              {"was_locked": was_locked, "had_failures": had_failures})
    uow.commit()
    log.warning("account %r unlocked by %s (was locked: %s)", account.username, who, was_locked)
    return was_locked or had_failures


def end_sessions(uow: UnitOfWork, username: str, by: Actor | None = None,
                 reason: str | None = None) -> int:
    """End every session of the account (its new session version is returned). ``by`` None:
    the account's own sign-out, not audited; else an administrator's "sign out everywhere",
    an administrative act (with a reason, audited). Commits."""
    who = None
    if by is not None:
        who, reason = _administrator(by, reason)
    account = _account(uow, username)
    account.end_sessions()
    uow.session.flush()
    if who is not None:
        audit.record_admin_action(uow, who, "account_sign_out", f"account:{account.username}",
                                  reason, {"session_version": account.session_version})
    uow.commit()
    if who is not None:
        log.warning("every session of account %r ended by %s", account.username, who)
    return account.session_version
