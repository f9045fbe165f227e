"""Public feedback (web/api/feedback): anyone may comment on a post whose cycle waits for a
public suggestion; it arrives as the message ``public_suggestion`` and reaches the
discipline officer's inbox. No waiting cycle: 409. Rate-limited per address; a honeypot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.services import deployment, instances, tasks
from engine.settings import Settings

from .conftest import Org, make_app

PROCESS = Path(__file__).parent / "fixtures" / "api_feedback.bpmn"
POST, OFFICER = "CZJ-BGS-02", "czj-0004"
DATA = {"post_code": POST, "department_code": "CZJ-BGS", "unit_code": "CZJ"}


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings, IRPM_FEEDBACK_PROCESS="api_feedback", IRPM_FEEDBACK_LIMIT=3,
                   IRPM_FEEDBACK_WINDOW=60)
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def waiting(org: Org) -> int:
    """The post's cycle, waiting for a public suggestion."""
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([PROCESS]), deployed_by="tests")
    with org.rt.uow() as uow:
        return instances.start_instance(uow, "api_feedback", POST, DATA).id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.extensions["irpm_api"]["feedback_limiter"].clock = clock
    return clock


def test_feedback_reaches_the_waiting_cycle(client: FlaskClient, org: Org, waiting: int,
                                            clock: Clock) -> None:
    response = client.post("/api/v1/feedback", json={
        "post": POST, "text": "  办文拖延，请核查  ", "contact": "138-0000-0000"})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "received"
    [message] = [e for e in org.events(waiting) if e.type == "message_received"]
    assert message.actor == "public"
    assert message.data == {"name": "public_suggestion", "payload": {
        "text": "办文拖延，请核查", "contact": "138-0000-0000"}}
    with org.rt.uow(write=False) as uow:
        assert instances.instance_data(uow, waiting)["suggestion"]["text"] == "办文拖延，请核查"
        rows, _total = tasks.list_tasks(uow, organisation.actor_for(uow, OFFICER),
                                           tasks.TaskFilter(view="claimable"))
    assert [t.name for t in rows] == ["审核群众意见"]  # in the discipline officer's inbox

    response = client.post("/api/v1/feedback", json={"post": POST, "text": "再说一次"})
    assert response.status_code == 409  # the cycle no longer waits for one
    body = response.get_json()
    assert body["code"] == "not_accepting_feedback" and POST in body["message"]


def test_no_waiting_cycle_is_a_conflict_and_an_unknown_post_not_found(
        client: FlaskClient, org: Org, clock: Clock) -> None:
    response = client.post("/api/v1/feedback", json={"post": POST, "text": "意见"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "not_accepting_feedback"
    response = client.post("/api/v1/feedback", json={"post": "XX-01", "text": "意见"})
    assert response.status_code == 404


@pytest.mark.parametrize("body,fields", [
    ({"text": "意见"}, ["post"]),
    ({"post": POST}, ["text"]),
    ({"post": POST, "text": "   "}, ["text"]),
    ({"post": POST, "text": "x" * 2001}, ["text"]),
    ({"post": POST, "text": "意见", "contact": "x" * 201}, ["contact"]),
    ({"post": POST, "text": "意见", "name": "张三"}, ["name"]),
])
def test_invalid_feedback_names_the_field(client: FlaskClient, org: Org, waiting: int,
                                          clock: Clock, body: dict[str, str],
                                          fields: list[str]) -> None:
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == fields
    assert not [e for e in org.events(waiting) if e.type == "message_received"]


def test_a_form_post_is_not_feedback(client: FlaskClient, org: Org, waiting: int,
                                     clock: Clock) -> None:
    """Only JSON is read, so a cross-site HTML form cannot send feedback for a visitor."""
    response = client.post("/api/v1/feedback", data={"post": POST, "text": "意见"})
    assert response.status_code == 422


def test_the_honeypot_is_answered_but_dropped(client: FlaskClient, org: Org, waiting: int,
                                              clock: Clock) -> None:
    response = client.post("/api/v1/feedback", json={
        "post": POST, "text": "buy now", "website": "http://spam.example"})
    assert response.status_code == 202 and response.get_json()["status"] == "received"
    assert not [e for e in org.events(waiting) if e.type == "message_received"]


def test_rate_limited_per_address(client: FlaskClient, org: Org, clock: Clock) -> None:
    def send(address: str) -> int:
        return client.post("/api/v1/feedback", json={"post": "XX-01", "text": "意见"},
                           environ_base={"REMOTE_ADDR": address}).status_code

    assert [send("203.0.113.5") for _ in range(3)] == [404, 404, 404]
    response = client.post("/api/v1/feedback", json={"post": "XX-01", "text": "意见"},
                           environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert response.status_code == 429
    assert response.get_json()["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "60"
    assert send("203.0.113.6") == 404  # another address has its own allowance
    clock.now += 30
    assert send("203.0.113.5") == 429
    clock.now += 31  # the first requests have left the window
    assert send("203.0.113.5") == 404


def test_feedback_is_in_the_openapi_document_as_public(client: FlaskClient) -> None:
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/feedback"]
    assert operation["post"]["security"] == []
