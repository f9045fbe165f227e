"""The simulated clock's controls: administrators move it forward in rehearsals, timers due
on the way fire; refused on the system clock, for anyone else, without a CSRF token, and for
bad input — and a refused request changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import AuditEntry, EventType, HumanTask, InstanceEvent, PendingTimer, TaskState
from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.services import audit, clock, deployment, instances
from engine.settings import Settings
from tests.conftest import FIXTURES
from tests.inbox_org import PASSWORD, T0

from .conftest import AuthActions, Org, csrf_token, make_app

REASON = "演练:公示期结束"


@pytest.fixture
def waiting(org: Org) -> Org:
    """A timer_duration instance waiting two days (due T0+2d) on the simulated clock."""
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "timer_duration.bpmn"]), deployed_by="t")
    with org.rt.uow() as uow:
        instances.start_instance(uow, "timer_duration", "wait-1", {},
                                actor=organisation.actor_for(uow, "admin"))
    return org


def snapshot(org: Org) -> tuple[bool, datetime, int, int, int, int]:
    """Clock, pending timers, timer firings, open tasks and audit entries: what a move
    changes."""
    with org.rt.uow(write=False) as uow:
        s = uow.session
        return (clock.is_simulated(uow), clock.now(uow),
                s.scalar(select(func.count()).select_from(PendingTimer)) or 0,
                s.scalar(select(func.count()).select_from(InstanceEvent).where(
                    InstanceEvent.type == EventType.TIMER_FIRED)) or 0,
                s.scalar(select(func.count()).select_from(HumanTask).where(
                    HumanTask.state == TaskState.OPEN, HumanTask.element_id == "after_wait"))
                or 0,
                s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_advance_fires_the_timers_due_on_the_way(client: FlaskClient, auth: AuthActions,
                                                 waiting: Org) -> None:
    auth.login("admin")
    page = client.get("/console/clock").get_data(as_text=True)
    assert 'id="clock-advance-form"' in page and "2011-01-06 09:00" in page  # next timer
    response = client.post("/console/clock/advance",
                           data={"days": "3", "hours": "2", "reason": REASON})
    assert response.status_code == 302
    assert snapshot(waiting) == (True, T0 + timedelta(days=3, hours=2), 0, 1, 1, 1)
    shown = client.get("/console/clock").get_data(as_text=True)
    assert "2011-01-07 11:00" in shown and "1 个定时器" in shown
    with waiting.rt.uow(write=False) as uow:
        [entry] = audit.list_audit(uow).entries
    assert (entry.actor, entry.action, entry.target, entry.reason) == (
        "admin", "clock_advance", "clock", REASON)
    assert entry.details == {"from": "2011-01-04T01:00:00+00:00",
                             "to": "2011-01-07T03:00:00+00:00", "timers_fired": 1}
    assert entry.clock_at == T0 + timedelta(days=3, hours=2)


def test_set_moves_to_the_time_given_firing_what_falls_due(
        client: FlaskClient, auth: AuthActions, waiting: Org) -> None:
    auth.login("admin")
    response = client.post("/console/clock/set",
                           data={"at": "2011-01-05T09:00", "reason": REASON})
    assert response.status_code == 302
    assert snapshot(waiting)[1:] == (T0 + timedelta(days=1), 1, 0, 0, 1)  # not due yet
    client.post("/console/clock/set", data={"at": "2011-01-08T18:30", "reason": REASON})
    assert snapshot(waiting)[1:] == (datetime.fromisoformat("2011-01-08T18:30+08:00"), 0, 1, 1,
                                     2)
    with waiting.rt.uow(write=False) as uow:
        assert [e.action for e in audit.list_audit(uow).entries] == ["clock_set", "clock_set"]


@pytest.mark.parametrize(("form", "data", "field", "message"), [
    ("advance", {"days": "-1", "reason": REASON}, "days", "天数须为 0 到 1830 之间的整数"),
    ("advance", {"days": "七", "reason": REASON}, "days", "天数请填整数"),
    ("advance", {"days": "0", "hours": "0", "reason": REASON}, "days", "至少推进一小时"),
    ("advance", {"days": "1", "hours": "24", "reason": REASON}, "hours", "0 到 23"),
    ("advance", {"days": "5000", "reason": REASON}, "days", "0 到 1830"),
    ("advance", {"days": "3"}, "reason", "请填写原因"),
    ("advance", {"days": "3", "reason": "x" * 501}, "reason", "1 到 500 个字符"),
    ("set", {"at": "next tuesday", "reason": REASON}, "at", "2011-01-04T09:00"),
    ("set", {"reason": REASON}, "at", "请输入要将时钟拨到的时间"),
    ("set", {"at": "1999-01-01T00:00", "reason": REASON}, "at", "2000 年至 2100 年"),
    ("set", {"at": "2011-01-03T09:00", "reason": REASON}, "at", "不能往回拨"),
    ("set", {"at": "2011-01-04T09:00", "reason": REASON}, "at", "时钟已是 2011-01-04 09:00"),
])
def test_bad_input_is_refused_at_its_field_and_changes_nothing(
        client: FlaskClient, auth: AuthActions, waiting: Org, form: str,
        data: dict[str, str], field: str, message: str) -> None:
    auth.login("admin")
    before = snapshot(waiting)
    response = client.post(f"/console/clock/{form}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = re.search(rf'id="{form}-{field}-errors">([^<]*)<', html)
    assert errors and message in errors.group(1)
    assert snapshot(waiting) == before


def test_refused_on_the_system_clock(client: FlaskClient, auth: AuthActions,
                                     waiting: Org) -> None:
    with waiting.rt.uow() as uow:
        clock.use_system_clock(uow)
        uow.commit()
    auth.login("admin")
    page = client.get("/console/clock").get_data(as_text=True)
    assert 'id="clock-not-simulated"' in page and "clock-advance-form" not in page
    assert 'id="clock-controls"' not in client.get("/console/dashboard").get_data(as_text=True)
    before = snapshot(waiting)
    response = client.post("/console/clock/advance", data={"days": "3", "reason": REASON})
    assert response.status_code == 409 and "演练模式" in response.get_data(as_text=True)
    far = (datetime.now() + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    assert client.post("/console/clock/set", data={"at": far, "reason": REASON}
                       ).status_code == 409
    after = snapshot(waiting)
    assert after[0] is False and after[2:] == before[2:]


@pytest.mark.parametrize("username", ["jiwei", "czj-0011", "czj-0004"])
def test_refused_for_anyone_but_administrators(client: FlaskClient, auth: AuthActions,
                                               waiting: Org, username: str) -> None:
    auth.login(username)
    before = snapshot(waiting)
    assert client.get("/console/clock").status_code == 403
    assert client.post("/console/clock/advance", data={"days": "3", "reason": REASON}
                       ).status_code == 403
    assert client.post("/console/clock/set", data={"at": "2011-02-01T09:00", "reason": REASON}
                       ).status_code == 403
    assert snapshot(waiting) == before


@pytest.fixture
def csrf_app(settings: Settings, waiting: Org) -> Iterator[Flask]:
    app = make_app(settings, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["irpm"].close()


def test_a_move_needs_the_form_csrf_token(csrf_app: Flask, waiting: Org) -> None:
    client = csrf_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "admin", "password": PASSWORD,
                                "csrf_token": csrf_token(login)})
    page = client.get("/console/clock").get_data(as_text=True)
    token = re.search(r'id="clock-advance-form".*?name="csrf_token" value="([^"]+)"', page,
                      re.S)
    assert token
    before = snapshot(waiting)
    refused = client.post("/console/clock/advance", data={"days": "3", "reason": REASON})
    assert refused.status_code == 400 and snapshot(waiting) == before
    moved = client.post("/console/clock/advance", data={
        "days": "3", "reason": REASON, "csrf_token": token.group(1)})
    assert moved.status_code == 302 and snapshot(waiting)[1] == T0 + timedelta(days=3)
