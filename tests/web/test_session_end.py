"""Sessions end for good (web/auth, ``Account.session_version``, issue 13): a cookie saved
before a sign-out no longer answers — neither the REST API nor a page; a password change
and an administrator's "sign out everywhere" (console, ``irpm accounts sign-out``) end every
session of the account, audited; a session also ends a fixed time after the sign-in however
busy it is (``IRPM_SESSION_MAX_AGE``), beside the idle limit. Time is a clock the test moves
(``web.auth.WALL_CLOCK``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import AuditEntry
from engine.programme.services import organisation
from engine.settings import Settings
from web.auth import SESSION_VERSION, WALL_CLOCK
from web.cli import main

from .conftest import PASSWORD, Org, make_app

STAFF = "czj-0011"
COOKIE = "irpm_session"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Iterator[Flask]:
    app = make_app(settings)
    app.extensions[WALL_CLOCK] = clock
    yield app
    app.extensions["irpm"].close()


def signed_in(app: Flask, username: str = STAFF) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def cookie(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def replay(app: Flask, value: str) -> FlaskClient:
    """A fresh browser carrying a saved copy of a session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def me(client: FlaskClient) -> int:
    return client.get("/api/v1/me", headers={"Accept": "application/json"}).status_code


def audit(org: Org, action: str) -> list[AuditEntry]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_cookie_saved_before_sign_out_no_longer_works(app: Flask, org: Org) -> None:
    client = signed_in(app)
    saved = cookie(client)
    assert me(replay(app, saved)) == 200  # a copy works while the session lasts
    assert client.post("/logout").status_code == 302

    copy = replay(app, saved)
    response = copy.get("/api/v1/me", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    page = replay(app, saved).get("/inbox/mine")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert audit(org, "account_sign_out") == []  # one's own sign-out is not an admin act


def test_signing_out_ends_the_accounts_other_sessions(app: Flask, org: Org) -> None:
    laptop, phone = signed_in(app), signed_in(app)
    other = signed_in(app, "czj-0012")
    laptop.post("/logout")
    assert me(phone) == 401
    assert me(other) == 200  # another account is untouched
    assert me(signed_in(app)) == 200  # and signing in again works


def test_a_password_change_ends_every_session(app: Flask, org: Org) -> None:
    client = signed_in(app)
    saved = cookie(client)
    with org.rt.uow() as uow:
        before = organisation.get_account(uow, STAFF).session_version
        organisation.save_account(uow, STAFF, password="a-new-password-1")
    with org.rt.uow(write=False) as uow:
        assert organisation.get_account(uow, STAFF).session_version == before + 1
    assert me(client) == 401 and me(replay(app, saved)) == 401
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": STAFF, "password": "a-new-password-1"}
                      ).status_code == 302
    assert me(fresh) == 200


def test_an_administrator_signs_an_account_out_everywhere(app: Flask, org: Org) -> None:
    client = signed_in(app)
    admin = signed_in(app, "admin")
    response = admin.post(f"/console/accounts/{STAFF}/sign-out", data={"reason": "笔记本丢失"})
    assert response.status_code == 303
    assert "所有会话均已结束" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert me(client) == 401
    assert me(admin) == 200
    [entry] = audit(org, "account_sign_out")
    assert (entry.actor, entry.target, entry.reason) == ("admin", f"account:{STAFF}", "笔记本丢失")
    assert me(signed_in(app)) == 200


def test_irpm_accounts_sign_out(app: Flask, org: Org, database_url: str) -> None:
    client = signed_in(app)
    runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": "admin"})
    result = runner.invoke(main, ["accounts", "sign-out", STAFF, "--reason", "离职"],
                           catch_exceptions=False)
    assert result.exit_code == 0 and "every session ended" in result.output
    assert me(client) == 401
    [entry] = audit(org, "account_sign_out")
    assert (entry.actor, entry.reason) == ("admin", "离职")


def test_a_session_ends_at_its_absolute_lifetime(app: Flask, org: Org, clock: Clock) -> None:
    assert app.config["IRPM_SESSION_MAX_AGE"] == timedelta(hours=12)
    client = signed_in(app)
    for _hour in range(12):  # busy all day: never idle for long
        clock.now += 3600 - 60
        assert client.get("/inbox/mine").status_code == 200
    clock.now += 12 * 60 + 1  # 12 h and 1 s after the sign-in
    response = client.get("/inbox/mine")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "已达会话最长时限" in client.get("/login").get_data(as_text=True)
    assert me(client) == 401


def test_the_absolute_lifetime_is_a_setting(settings: Settings, clock: Clock,
                                            org: Org) -> None:
    app = make_app(settings, IRPM_SESSION_MAX_AGE=timedelta(hours=1))
    app.extensions[WALL_CLOCK] = clock
    try:
        client = signed_in(app)
        clock.now += 3599
        assert me(client) == 200
        clock.now += 2
        assert me(client) == 401
    finally:
        app.extensions["irpm"].close()


def test_the_idle_lifetime_uses_the_same_clock(app: Flask, org: Org, clock: Clock) -> None:
    client = signed_in(app)
    clock.now += 8 * 3600 - 1
    assert me(client) == 200
    clock.now += 8 * 3600 + 1
    assert me(client) == 401


def test_a_session_without_a_version_is_not_accepted(app: Flask, org: Org) -> None:
    """Cookies issued before the upgrade (no session version) end: sign in again."""
    client = signed_in(app)
    with client.session_transaction() as session:
        session.pop(SESSION_VERSION)
    assert me(client) == 401
