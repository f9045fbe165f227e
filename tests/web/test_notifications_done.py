"""A task's notifications are done with it (issue 16 point 2): once the task is completed or
cancelled, its 新任务 (and any card) are marked read for everyone told of it — the person
who did it and the colleagues who could have — so nobody is sent to a task with nothing left
to do; the next task's notifications stay unread."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.mail import SmtpSettings
from engine.models import Notification
from engine.programme.services import organisation
from engine.services import clock, instances

from .conftest import AuthActions, Org, notifying

HOLDER, HEAD = "czj-0011", "czj-0009"
HOLDER_POST = "CZJ-BGS-02"


def _unread(org: Org, username: str) -> list[str]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Notification.subject).where(
            Notification.recipient == username, Notification.read_at.is_(None))
            .order_by(Notification.id)))


def test_completing_a_task_marks_its_notifications_read(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    notified = notifying(org, SmtpSettings())
    task = notified.open_task(notified.start(HOLDER_POST))
    assert _unread(notified, HOLDER) == ["查找廉政风险"]
    notified.complete(task.id, HOLDER)  # done without opening the notification
    assert _unread(notified, HOLDER) == []
    with notified.rt.uow(write=False) as uow:
        now = clock.now(uow)
        [read_at] = uow.session.scalars(select(Notification.read_at).where(
            Notification.task_id == task.id))
    assert read_at == now
    assert _unread(notified, HEAD) == ["严格审核把关"]  # the next step's is still news
    auth.login(HOLDER)
    html = client.get("/notifications/").get_data(as_text=True)
    assert 'data-unread="true"' not in html


def test_a_cancelled_task_is_no_longer_news(org: Org) -> None:
    notified = notifying(org, SmtpSettings())
    iid = notified.start(HOLDER_POST)
    assert _unread(notified, HOLDER) == ["查找廉政风险"]
    with notified.rt.uow() as uow:
        instances.terminate_instance(uow, iid, organisation.actor_for(uow, "admin"),
                                     "duplicate")
    assert _unread(notified, HOLDER) == []
