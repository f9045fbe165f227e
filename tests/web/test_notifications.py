"""Notifications (web/notifications, engine.services.notifications): a new task for a person
or their group, a task delegated to them, yellow and red cards written once each by
``scan_due_cards`` on the simulated clock, the unread count in the navigation, marking read,
and e-mail through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.mail import SmtpSettings
from engine.models import Notification
from engine.programme.services import organisation
from engine.services import due_cards, instances, notification_mail, notifications, tasks
from engine.services.due_cards import CardScan
from engine.settings import Settings
from web.cli import main

from .conftest import T0, AuthActions, Org, make_app, notifying
from .mailserver import Mailbox, SmtpServer, free_port

HOLDER, COLLEAGUE, HEAD = "czj-0011", "czj-0012", "czj-0009"
HOLDER_POST = "CZJ-BGS-02"  # 办公室 科员（文秘）, held by czj-0011
TASK = "查找廉政风险"  # the inbox cycle's first task, due in 10 days


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    server = SmtpServer(box).start()
    yield box
    server.stop()


@pytest.fixture
def notified(org: Org) -> Org:
    """The test organisation's runtime, telling people of their tasks (no e-mail)."""
    return notifying(org, SmtpSettings())


def notes(org: Org, username: str) -> list[Notification]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Notification).where(
            Notification.recipient == username).order_by(Notification.id)))


def unread_badge(client: FlaskClient) -> int | None:
    html = client.get("/inbox/mine").get_data(as_text=True)
    found = re.search(r'data-count="unread">\s*(\d+)\s*<', html)
    return int(found.group(1)) if found else None


def scan(org: Org, at: Any) -> due_cards.CardScan:
    with org.rt.uow() as uow:
        return due_cards.scan_due_cards(uow, at)


# ---------------------------------------------------------------------- in the app


def test_a_new_task_notifies_its_group_and_counts_as_unread(
        client: FlaskClient, auth: AuthActions, notified: Org) -> None:
    instance = notified.start(HOLDER_POST)
    task = notified.open_task(instance)
    [note] = notes(notified, HOLDER)  # the group post:CZJ-BGS-02 is its holder
    assert (note.kind, note.subject, note.task_id, note.read_at) == ("task", TASK, task.id, None)
    assert (note.post_code, note.unit_code, note.created_at) == (HOLDER_POST, "CZJ", T0)
    assert note.due_at == T0 + timedelta(days=10)
    assert notes(notified, COLLEAGUE) == [] and notes(notified, HEAD) == []

    auth.login(HOLDER)
    assert unread_badge(client) == 1
    html = client.get("/notifications/").get_data(as_text=True)
    assert f'data-notification="{note.id}" data-kind="task" data-unread="true"' in html
    assert TASK in html and "新任务" in html
    response = client.post(f"/notifications/{note.id}/open")
    assert response.headers["Location"] == f"/tasks/{task.id}"
    assert unread_badge(client) is None
    assert notes(notified, HOLDER)[0].read_at == T0


def test_the_next_task_of_the_process_notifies_its_people(
        notified: Org) -> None:
    task = notified.open_task(notified.start(HOLDER_POST))
    notified.complete(task.id, HOLDER)
    assert [(n.kind, n.subject) for n in notes(notified, HEAD)] == [("task", "严格审核把关")]


def test_delegation_notifies_the_colleague(client: FlaskClient, auth: AuthActions,
                                           notified: Org) -> None:
    task = notified.open_task(notified.start(HOLDER_POST))
    auth.login(HOLDER)
    response = client.post(f"/inbox/tasks/{task.id}/delegate",
                           data={"to": COLLEAGUE, "reason": "出差一周，请代为查找"})
    assert response.status_code == 302
    [note] = notes(notified, COLLEAGUE)
    assert (note.kind, note.actor, note.detail, note.task_id) == (
        "delegated", HOLDER, "出差一周，请代为查找", task.id)
    auth.logout()
    auth.login(COLLEAGUE)
    assert unread_badge(client) == 1
    html = client.get("/notifications/").get_data(as_text=True)
    assert "转办给您" in html and f"由 {HOLDER} 转办给您" in html and "出差一周" in html


def test_mark_read_and_mark_all_read(client: FlaskClient, auth: AuthActions,
                                     notified: Org) -> None:
    for _ in range(3):
        notified.start(HOLDER_POST, key=f"k-{uuid.uuid4()}")
    first, second, _third = notes(notified, HOLDER)
    auth.login(HOLDER)
    assert unread_badge(client) == 3
    client.post(f"/notifications/{first.id}/read", data={"next": "/notifications/"})
    assert unread_badge(client) == 2
    unread = client.get("/notifications/?show=unread").get_data(as_text=True)
    assert f'data-notification="{first.id}"' not in unread
    assert f'data-notification="{second.id}"' in unread
    response = client.post("/notifications/read-all")
    assert response.status_code == 302
    assert "已将 2 条通知标为已读" in client.get("/notifications/").get_data(as_text=True)
    assert unread_badge(client) is None
    assert "没有未读通知" in client.get("/notifications/?show=unread").get_data(as_text=True)
    assert all(n.read_at is not None for n in notes(notified, HOLDER))


def test_someone_elses_notification_is_not_found(client: FlaskClient, auth: AuthActions,
                                                 notified: Org) -> None:
    notified.start(HOLDER_POST)
    [note] = notes(notified, HOLDER)
    auth.login(COLLEAGUE)
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert client.post(f"/notifications/{note.id}/read").status_code == 404
    assert notes(notified, HOLDER)[0].read_at is None
    auth.logout()
    assert client.get("/notifications/").status_code == 302  # sign in first


# ----------------------------------------------------------------------------- cards


def test_yellow_and_red_cards_are_written_once_each(notified: Org) -> None:
    task = notified.open_task(notified.start(HOLDER_POST))  # due T0 + 10 days
    assert scan(notified, T0) == CardScan(0, 0, 0)
    assert scan(notified, T0 + timedelta(days=6, hours=23)) == CardScan(0, 0, 0)
    assert scan(notified, T0 + timedelta(days=8)) == CardScan(yellow=1, red=0, tasks=1)
    assert scan(notified, T0 + timedelta(days=9)) == CardScan(yellow=0, red=0, tasks=1)
    notified.claim(task.id, HOLDER)
    assert scan(notified, T0 + timedelta(days=11)) == CardScan(yellow=0, red=1, tasks=1)
    assert scan(notified, T0 + timedelta(days=30)) == CardScan(0, 0, 1)
    cards = [(n.kind, n.task_id) for n in notes(notified, HOLDER) if n.kind != "task"]
    assert cards == [("yellow_card", task.id), ("red_card", task.id)]
    assert scan(notified, T0 + timedelta(days=2)) == CardScan(0, 0, 0)


def test_an_assigned_task_is_carded_to_its_assignee_only(notified: Org) -> None:
    task = notified.open_task(notified.start(HOLDER_POST))
    with notified.rt.uow() as uow:
        tasks.delegate_task(uow, task.id, organisation.actor_for(uow, HOLDER), COLLEAGUE,
                               "请代为办理")
    assert scan(notified, T0 + timedelta(days=30)).red == 1
    assert [n.kind for n in notes(notified, COLLEAGUE)] == ["delegated", "red_card"]
    assert [n.kind for n in notes(notified, HOLDER)] == ["task"]


def test_the_yellow_card_horizon_is_a_setting(notified: Org) -> None:
    notified.start(HOLDER_POST)  # due T0 + 10 days
    notifications.configure(notified.rt, near_due=timedelta(days=1))
    assert scan(notified, T0 + timedelta(days=8)).yellow == 0
    assert scan(notified, T0 + timedelta(days=9, hours=1)).yellow == 1
    notified.start(HOLDER_POST, key="another")
    with notified.rt.uow() as uow:  # or per call
        assert due_cards.scan_due_cards(uow, T0 + timedelta(days=4),
                                       near_due=timedelta(days=7)).yellow == 1
    assert Settings.from_env({"IRPM_NEAR_DUE_DAYS": "5"}).near_due == timedelta(days=5)
    assert Settings.from_env({}).near_due == timedelta(days=3)


def test_the_cli_scans_on_the_project_clock(settings: Settings, notified: Org) -> None:
    notified.start(HOLDER_POST)
    notified.set_clock(T0 + timedelta(days=8))
    runner = CliRunner(env={"IRPM_DATABASE_URL": settings.database_url})
    result = runner.invoke(main, ["--json", "notifications", "scan"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in json.loads(result.output).items() if k != "at"} == {
        "yellow": 1, "red": 0, "tasks": 1}
    result = runner.invoke(main, ["notifications", "scan", "--now", "2011-01-20T09:00+08:00"],
                           catch_exceptions=False)
    assert result.exit_code == 0
    assert "0 yellow and 1 red cards written" in result.output
    assert [n.kind for n in notes(notified, HOLDER)] == ["task", "yellow_card", "red_card"]


# ----------------------------------------------------------------------------- e-mail


def test_the_email_address_is_set_on_the_settings_page(client: FlaskClient,
                                                       auth: AuthActions, org: Org) -> None:
    auth.login(HOLDER)
    assert "尚未配置邮件发送" in client.get("/notifications/settings").get_data(as_text=True)
    response = client.post("/notifications/settings", data={"email": "not-an-address"})
    assert response.status_code == 400
    assert "这不是有效的电子邮箱地址" in response.get_data(as_text=True)
    response = client.post("/notifications/settings", data={"email": "xiang@czj.example.cn"})
    assert response.status_code == 302
    assert "xiang@czj.example.cn" in client.get("/notifications/").get_data(as_text=True)
    with org.rt.uow(write=False) as uow:
        assert notification_mail.get_email(uow, HOLDER) == "xiang@czj.example.cn"
    client.post("/notifications/settings", data={"email": ""})
    with org.rt.uow(write=False) as uow:
        assert notification_mail.get_email(uow, HOLDER) is None


def test_notifications_are_emailed_through_smtp(settings: Settings, mailbox: Mailbox,
                                                org: Org) -> None:
    app = make_app(settings, IRPM_SMTP_HOST="127.0.0.1", IRPM_SMTP_PORT=str(mailbox.port),
                   IRPM_SMTP_FROM="irpm@example.gov.cn", IRPM_BASE_URL="https://irpm.test/")
    try:
        client = app.test_client()
        AuthActions(client).login(HOLDER)
        client.post("/notifications/settings", data={"email": "xiang@czj.example.cn"})
        rt = app.extensions["irpm"]  # the app's runtime: e-mail as the app is configured
        with rt.uow() as uow:
            iid = instances.start_instance(uow, "inbox_cycle", "2011-mail", {
                "post_code": HOLDER_POST, "department_code": "CZJ-BGS", "unit_code": "CZJ"}).id
        [mail] = mailbox.received  # sent once the task's transaction committed
        task = org.open_task(iid)
        assert mail["X-Envelope-To"] == "xiang@czj.example.cn"
        assert mail["To"] == "xiang@czj.example.cn"
        assert mail["Subject"] == f"【IRPM】新任务:{TASK} · New task"
        body = mail.get_content()
        assert "您有一项新任务" in body and "岗位 Post: CZJ-BGS-02" in body
        assert "办理期限 Due: 2011-01-14 09:00" in body
        assert f"https://irpm.test/tasks/{task.id}" in body

        with rt.uow() as uow:
            due_cards.scan_due_cards(uow, T0 + timedelta(days=8))
        assert mailbox.received[-1]["Subject"].startswith(f"【IRPM】黄牌提醒:{TASK}")
        assert len(mailbox.received) == 2
    finally:
        app.extensions["irpm"].close()


def test_people_without_an_address_get_no_email(mailbox: Mailbox, org: Org) -> None:
    notifying(org, mailbox.settings())
    org.start(HOLDER_POST)
    assert len(notes(org, HOLDER)) == 1 and mailbox.received == []


def test_an_smtp_failure_is_logged_not_raised(org: Org,
                                              caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()  # nobody listens there
    notifying(org, SmtpSettings(host="127.0.0.1", port=closed, sender="irpm@example.gov.cn",
                                timeout=2))
    with org.rt.uow() as uow:
        notification_mail.set_email(uow, HOLDER, "xiang@czj.example.cn")
    with caplog.at_level(logging.ERROR, logger="engine.mail"):
        instance = org.start(HOLDER_POST)
    assert org.open_task(instance).name == TASK  # the task is there all the same
    assert len(notes(org, HOLDER)) == 1
    assert any("e-mail through 127.0.0.1" in r.getMessage() for r in caplog.records)


def test_a_failing_listener_does_not_undo_the_step(org: Org,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    def broken(_rt: Any, _events: Any) -> None:
        raise RuntimeError("listener broke")

    org.rt.add_event_listener(broken)
    with caplog.at_level(logging.ERROR, logger="engine.runtime"):
        instance = org.start(HOLDER_POST)
    assert org.open_task(instance).name == TASK
    assert any("listener" in r.getMessage() for r in caplog.records)


def test_the_settings_come_from_the_environment() -> None:
    smtp = Settings.from_env({"IRPM_SMTP_HOST": "smtp.example.cn", "IRPM_SMTP_PORT": "587",
                              "IRPM_SMTP_USER": "irpm", "IRPM_SMTP_PASSWORD": "s3cret",
                              "IRPM_SMTP_FROM": "irpm@example.cn",
                              "IRPM_SMTP_STARTTLS": "1", "IRPM_BASE_URL": "https://x/"}).smtp
    assert (smtp.host, smtp.port, smtp.user, smtp.password, smtp.sender, smtp.starttls,
            smtp.base_url, smtp.enabled) == ("smtp.example.cn", 587, "irpm", "s3cret",
                                             "irpm@example.cn", True, "https://x", True)
    assert not Settings.from_env({}).smtp.enabled
    assert not Settings.from_env({"IRPM_SMTP_HOST": "smtp.example.cn"}).smtp.enabled


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings)
    yield app
    app.extensions["irpm"].close()
