"""Sign-in throttling and lockout (engine/programme/services/signin.py, web/auth, issue 13):
failures are counted in the database per account and per address, shared by every app on
it; the account's fifth failure locks it (a clear message saying for how long), the right
password is refused while locked; the lockout ends by itself or by an administrator (the
console, ``irpm accounts unlock``), audited; every failure and lockout is logged. Time is
a clock the test moves (``web.auth.WALL_CLOCK``), never a sleep."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.models import AuditEntry, RateLimit
from engine.programme.services import signin
from engine.services import rate_limits
from engine.settings import Settings
from web.auth import WALL_CLOCK
from web.cli import main

from .conftest import PASSWORD, Org, csrf_token, make_app

STAFF = "czj-0011"
ADDRESS, OTHER = "203.0.113.7", "198.51.100.9"
T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LOCKED = "该账号因登录失败次数过多已被锁定"


class Clock:
    """UNIX seconds, moved by the test; it starts at the real time, which the command line
    reads."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def clocked(settings: Settings, clock: Clock, **config: object) -> Flask:
    app = make_app(settings, **config)
    app.extensions[WALL_CLOCK] = clock
    return app


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Iterator[Flask]:
    app = clocked(settings, clock)
    yield app
    app.extensions["irpm"].close()


def sign_in(client: FlaskClient, username: str = STAFF, password: str = PASSWORD,
            address: str = ADDRESS) -> TestResponse:
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def message(response: TestResponse) -> str:
    found = re.findall(r'class="invalid-feedback"[^>]*>([^<]*)<', response.get_data(as_text=True))
    return " ".join(found)


def audit(org: Org, action: str) -> list[AuditEntry]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))


def lock(client: FlaskClient) -> list[TestResponse]:
    return [sign_in(client, password=f"wrong-{i}") for i in range(5)]


def test_five_failures_lock_the_account_even_against_the_right_password(
        client: FlaskClient, org: Org, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "irpm.signin")
    responses = lock(client)
    assert [r.status_code for r in responses] == [400, 400, 400, 400, 429]
    assert message(responses[0]) == "用户名或密码错误。"
    assert LOCKED in message(responses[4]) and "15 分钟" in message(responses[4])

    refused = sign_in(client)  # the right password
    assert refused.status_code == 429 and LOCKED in message(refused)
    assert client.get("/inbox/mine").status_code == 302

    failed = [r for r in caplog.records if r.getMessage().startswith("sign-in failed")]
    assert len(failed) == 5 and all(STAFF in r.getMessage() and ADDRESS in r.getMessage()
                                    for r in failed)
    assert any(r.getMessage().startswith(f"account '{STAFF}' locked for 900 s")
               for r in caplog.records)
    assert any("sign-in refused" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    [entry] = audit(org, "account_lock")
    assert (entry.actor, entry.target) == ("system", f"account:{STAFF}")
    assert entry.details == {"failures": 5, "window_seconds": 900.0, "locked_seconds": 900.0}

    clock.now += 14 * 60
    assert "1 分钟" in message(sign_in(client))
    clock.now += 61  # the lockout is over: the right password works, a full allowance again
    assert sign_in(client).status_code == 302


def test_a_lockout_refuses_without_checking_or_counting(client: FlaskClient, org: Org) -> None:
    lock(client)
    with org.rt.uow(write=False) as uow:
        before = uow.session.scalars(select(RateLimit.hits).order_by(RateLimit.id)).all()
    assert sign_in(client, password="wrong-again").status_code == 429
    with org.rt.uow(write=False) as uow:
        assert uow.session.scalars(select(RateLimit.hits).order_by(RateLimit.id)).all() == before


def test_a_success_forgets_the_accounts_failures(client: FlaskClient, org: Org) -> None:
    for i in range(4):
        assert sign_in(client, password=f"wrong-{i}").status_code == 400
    assert sign_in(client).status_code == 302
    client.post("/logout")
    for i in range(4):
        assert sign_in(client, password=f"wrong-{i}").status_code == 400
    assert sign_in(client).status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(client: FlaskClient, org: Org,
                                                               clock: Clock) -> None:
    for i in range(8):
        assert sign_in(client, password=f"wrong-{i}").status_code == 400
        clock.now += 240  # four failures in any 15 minutes
    assert sign_in(client).status_code == 302


def test_an_unknown_name_is_locked_alike(client: FlaskClient, org: Org) -> None:
    responses = [sign_in(client, "nobody", f"wrong-{i}") for i in range(6)]
    assert [r.status_code for r in responses] == [400, 400, 400, 400, 429, 429]
    assert LOCKED in message(responses[5])
    assert audit(org, "account_lock") == []  # no account: logged only
    with org.rt.uow(write=False) as uow:
        keys = uow.session.scalars(select(RateLimit.key)).all()
    assert not any("nobody" in key or ADDRESS in key for key in keys)


def test_one_address_failing_on_many_accounts_must_wait(settings: Settings, clock: Clock,
                                                        org: Org) -> None:
    app = clocked(settings, clock, IRPM_SIGNIN_ADDRESS_LIMIT=3)
    try:
        client = app.test_client()
        for name in ("czj-0011", "czj-0012", "nobody"):
            assert sign_in(client, name, "wrong").status_code == 400
        refused = sign_in(client, "czj-0020", PASSWORD)
        assert refused.status_code == 429 and "网络地址" in message(refused)
        assert sign_in(client, "czj-0020", PASSWORD, address=OTHER).status_code == 302
        clock.now += 901
        assert sign_in(app.test_client(), "czj-0020", PASSWORD).status_code == 302
    finally:
        app.extensions["irpm"].close()


def test_every_worker_shares_the_count(settings: Settings, clock: Clock, org: Org) -> None:
    """Two apps on one database — two gunicorn workers, or two hosts."""
    first, second = clocked(settings, clock), clocked(settings, clock)
    try:
        assert first.extensions["irpm"] is not second.extensions["irpm"]
        statuses = [sign_in((first if i % 2 else second).test_client(), password="x").status_code
                    for i in range(5)]
        assert statuses == [400, 400, 400, 400, 429]
        assert sign_in(first.test_client()).status_code == 429
        assert sign_in(second.test_client()).status_code == 429
    finally:
        first.extensions["irpm"].close()
        second.extensions["irpm"].close()


def test_the_settings_shape_the_throttle(settings: Settings, clock: Clock, org: Org) -> None:
    app = clocked(settings, clock, IRPM_SIGNIN_ACCOUNT_LIMIT=2, IRPM_SIGNIN_LOCKOUT=3600.0)
    try:
        client = app.test_client()
        assert [sign_in(client, password="x").status_code for _ in range(2)] == [400, 429]
        assert "60 分钟" in message(sign_in(client))
    finally:
        app.extensions["irpm"].close()


# ----------------------------------------------------------------------------- unlocking


def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "admin", address=OTHER).status_code == 302
    return client


def test_an_administrator_unlocks_on_the_console(app: Flask, client: FlaskClient,
                                                 org: Org) -> None:
    lock(client)
    admin = admin_client(app)
    page = admin.get(f"/console/accounts?username={STAFF}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert 'data-locked="yes"' in html and "15 分钟" in html, html[-3000:]
    response = admin.post(f"/console/accounts/{STAFF}/unlock", data={"reason": "本人来电"})
    assert response.status_code == 303
    assert 'data-locked="no"' in admin.get(response.headers["Location"]).get_data(as_text=True)
    [entry] = audit(org, "account_unlock")
    assert (entry.actor, entry.target, entry.reason) == ("admin", f"account:{STAFF}", "本人来电")
    assert entry.details == {"was_locked": True, "had_failures": False}
    assert sign_in(client).status_code == 302


def test_only_administrators_unlock(app: Flask, client: FlaskClient, org: Org) -> None:
    lock(client)
    commission = app.test_client()
    assert sign_in(commission, "jiwei", address=OTHER).status_code == 302
    assert commission.get(f"/console/accounts?username={STAFF}").status_code == 200
    assert commission.post(f"/console/accounts/{STAFF}/unlock",
                           data={"reason": "x"}).status_code == 403
    staff = app.test_client()
    assert sign_in(staff, "czj-0012", address=OTHER).status_code == 302
    assert staff.get(f"/console/accounts?username={STAFF}").status_code == 403
    assert audit(org, "account_unlock") == []
    assert sign_in(client).status_code == 429


def test_the_console_checks_its_form_and_csrf(settings: Settings, clock: Clock,
                                              org: Org) -> None:
    app = clocked(settings, clock, WTF_CSRF_ENABLED=True)
    try:
        admin = app.test_client()
        token = csrf_token(admin.get("/login").get_data(as_text=True))
        admin.post("/login", data={"username": "admin", "password": PASSWORD,
                                   "csrf_token": token})
        assert admin.post(f"/console/accounts/{STAFF}/unlock",
                          data={"reason": "x"}).status_code == 400  # no CSRF token
        page = admin.get(f"/console/accounts?username={STAFF}").get_data(as_text=True)
        token = csrf_token(page)
        refused = admin.post(f"/console/accounts/{STAFF}/unlock",
                             data={"csrf_token": token}, follow_redirects=True)
        assert "audit" in refused.get_data(as_text=True)  # the reason is required
        assert audit(org, "account_unlock") == []
        assert admin.get("/console/accounts?username=nobody").status_code == 404
    finally:
        app.extensions["irpm"].close()


def test_irpm_accounts_unlock(client: FlaskClient, org: Org, database_url: str) -> None:
    lock(client)
    runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": None})
    shown = runner.invoke(main, ["accounts", "show", STAFF], catch_exceptions=False)
    assert shown.exit_code == 0 and "locked for 15 more minute(s)" in shown.output
    done = runner.invoke(main, ["accounts", "unlock", STAFF, "--by", "admin",
                                "--reason", "工单 42"], catch_exceptions=False)
    assert done.exit_code == 0 and f"{STAFF}: unlocked" in done.output
    [entry] = audit(org, "account_unlock")
    assert (entry.actor, entry.reason) == ("admin", "工单 42")
    assert sign_in(client).status_code == 302
    again = runner.invoke(main, ["--json", "accounts", "unlock", STAFF, "--reason", "再查"])
    assert again.exit_code == 0 and '"unlocked": false' in again.output
    missing = runner.invoke(main, ["accounts", "unlock", "nobody", "--reason", "查"])
    assert missing.exit_code == 1 and "no account 'nobody'" in missing.output


# ----------------------------------------------------------------------------- the counters


def test_the_rate_limit_reads_and_clears(org: Org) -> None:
    now = T
    with org.rt.uow() as uow:
        for _ in range(2):
            assert rate_limits.hit_rate_limit(uow, "t", "k", limit=2, window=60, now=now) is None
        assert rate_limits.rate_limit_hits(uow, "t", "k", window=60, now=now) == [
            now.timestamp()] * 2
        assert rate_limits.rate_limit_wait(uow, "t", "k", limit=2, window=60, now=now) == 60
        assert rate_limits.rate_limit_wait(uow, "t", "k", limit=3, window=60, now=now) is None
        assert rate_limits.rate_limit_wait(uow, "t", "other", limit=1, window=60,
                                           now=now) is None
        assert rate_limits.clear_rate_limit(uow, "t", "k")
        uow.commit()
    with org.rt.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(RateLimit)) == 0
        assert not rate_limits.clear_rate_limit(uow, "t", "k")


def test_the_service_refuses_non_administrators(org: Org) -> None:
    from engine.actors import Actor
    from engine.errors import Forbidden

    with org.rt.uow() as uow, pytest.raises(Forbidden):
        signin.unlock_account(uow, STAFF, Actor("czj-0012", frozenset({"staff"})))
    with org.rt.uow() as uow, pytest.raises(Forbidden):
        signin.end_sessions(uow, STAFF, Actor("czj-0012", frozenset({"staff"})))
