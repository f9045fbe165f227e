"""Pending public feedback upheld as a complaint on /publicity/feedback: the unit's discipline
officer (or the city's commission) starts 后期处置 of the post from it — "对群众有投诉、社会有
反映……的,采取谈话提醒、诫勉纠错等措施" — and the feedback is handled; anyone else is refused
with nothing changed."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import ProcessInstance
from engine.programme.models import Feedback
from engine.programme.services import feedback
from engine.services import timers

from .conftest import T0, AuthActions, Org
from .publicity_cycle import YEAR, deploy_programme, to_publicity

POST, OFFICER, OTHER_OFFICER = "CZJ-BGS-02", "czj-0004", "fgw-0004"


def _disposals(org: Org) -> list[str | None]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance.business_key).where(
            ProcessInstance.process_id == "disposal")))


def test_the_officer_upholds_pending_feedback_as_a_complaint(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    to_publicity(rt, POST)
    with org.rt.uow() as uow:  # publicity is over: the feedback stays pending
        timers.advance_to(uow, T0 + timedelta(days=8))
    with org.rt.uow() as uow:
        receipt = feedback.submit_feedback(uow, POST, "办事要求请吃饭", year=YEAR)
    assert not receipt.delivered
    url = f"/publicity/feedback/{receipt.feedback_id}/complaint"

    auth.login(OTHER_OFFICER)  # another unit's officer: not even told it exists
    assert client.post(url, data={"note": "x"}).status_code == 404
    auth.logout()
    auth.login("admin")  # sees all feedback, but starts no disposal
    client.post(url, data={"note": "x"})
    assert "您无权执行此操作" in client.get("/publicity/feedback").get_data(as_text=True)
    assert _disposals(org) == []
    auth.logout()

    auth.login(OFFICER)
    listing = client.get("/publicity/feedback").get_data(as_text=True)
    assert 'data-action="complaint"' in listing and "投诉属实：启动后期处置" in listing
    response = client.post(url, data={"note": "经电话核实属实"})
    assert response.status_code == 302
    assert "已对该岗位启动后期处置" in client.get("/publicity/feedback").get_data(as_text=True)
    assert _disposals(org) == [f"disposal:{POST}:complaint:1"]
    with org.rt.uow(write=False) as uow:
        row = uow.session.get(Feedback, receipt.feedback_id)
        assert row is not None and (row.handled_by, row.handling_note) == (OFFICER,
                                                                          "经电话核实属实")
    client.post(url, data={"note": "再次"})  # handled already: refused, nothing new
    assert "请刷新后重试" in client.get("/publicity/feedback").get_data(as_text=True)
    assert _disposals(org) == [f"disposal:{POST}:complaint:1"]
