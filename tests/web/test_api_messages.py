"""POST /api/v1/messages and /api/v1/signals (web/api/messages.py): administrators (by
session or their API token) send a message that starts a message-start process or reaches
the correlated waiting instance, and a signal that reaches every waiting instance; anyone
else gets 403 before the body is read; bad input is 4xx with the field or the reason named,
and changes nothing; each send is audited; the operation is in the OpenAPI document."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import AuditEntry, ProcessInstance
from engine.services import api_tokens, instances
from tests.conformance.compare import ACTOR, deploy

from .conftest import AuthActions, Org

URL = "/api/v1/messages"
ORDER = {"name": "order", "payload": {"order_id": "A-1", "item": "纸"}}


def _counts(org: Org) -> tuple[int, int]:
    with org.rt.uow(write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
                uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_an_administrator_starts_and_answers_by_message(client: FlaskClient,
                                                        auth: AuthActions, org: Org) -> None:
    deploy(org.rt, "messages/order_collaboration.bpmn")
    assert client.post(URL, json=ORDER).status_code == 401
    auth.login("admin")
    response = client.post(URL, json=ORDER)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    [seller] = body["started"]
    assert body == {"name": "order", "correlations": {"order": {"order_id": "A-1"}},
                    "caught": [], "started": [seller]}
    with org.rt.uow(write=False) as uow:
        assert uow.session.get(ProcessInstance, seller).process_id == "seller"
        [entry] = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "message.send"))
        assert entry.actor == "admin" and entry.target == "message:order"


def test_others_are_refused_before_the_body_is_read(client: FlaskClient, auth: AuthActions,
                                                    org: Org) -> None:
    deploy(org.rt, "messages/order_collaboration.bpmn")
    before = _counts(org)
    for who in ("jiwei", "czj-0011"):
        auth.logout()
        auth.login(who)
        response = client.post(URL, json=ORDER)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
        assert client.post(URL, json={"name": 7}).status_code == 403
    assert _counts(org) == before


def test_an_administrators_token_may_send(client: FlaskClient, org: Org) -> None:
    deploy(org.rt, "messages/order_collaboration.bpmn")
    with org.rt.uow() as uow:
        secret = api_tokens.create_token(uow, "admin", "messages", expires_in_days=30).secret
    response = client.post(URL, json=ORDER, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and len(response.get_json()["started"]) == 1


def test_bad_messages_are_refused_and_change_nothing(client: FlaskClient, auth: AuthActions,
                                                     org: Org) -> None:
    deploy(org.rt, "messages/order_collaboration.bpmn")
    auth.login("admin")
    before = _counts(org)
    cases = [
        ({"name": "nobody_uses_this"}, 404, "no deployed process uses message"),
        ({"name": "invoice", "payload": {"order_id": "Z-9"}}, 409, "no instance waits"),
        ({"name": "invoice", "payload": {"total": 1}}, 422, "order_id"),
        ({"name": "invoice", "payload": {"order_id": "A"}, "correlation": {"colour": "x"}},
         422, "colour"),
        ({"name": "order", "payload": {"order_id": "A", "item": "x" * 300_000}}, 422,
         "the limit is"),
        ({"payload": {}}, 422, ""),
        ({"name": "order", "payload": ["not", "an", "object"]}, 422, ""),
        ({"name": "order", "payload": {"order_id": "A"}, "instance_id": 999}, 404, "999"),
    ]
    for body, status, text in cases:
        response = client.post(URL, json=body)
        assert response.status_code == status, (body, response.get_json())
        assert text in response.get_json()["message"], response.get_json()
    response = client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert _counts(org) == before


def test_the_operation_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/messages"]["post"]
    assert operation["tags"] == ["messages"]
    assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])


def test_a_signal_reaches_every_waiting_instance(client: FlaskClient, auth: AuthActions,
                                                 org: Org) -> None:
    deploy(org.rt, "messages/signal_wait.bpmn")
    with org.rt.uow() as uow:
        waiting = [instances.start_instance(uow, "signal_wait", actor=ACTOR).id
                   for _ in range(2)]
    auth.login("jiwei")
    assert client.post("/api/v1/signals", json={"name": "go"}).status_code == 403
    auth.logout()
    auth.login("admin")
    before = _counts(org)
    response = client.post("/api/v1/signals", json={"name": "nobody_waits"})
    assert response.status_code == 409 and "no instance is waiting for signal" in \
        response.get_json()["message"]
    assert _counts(org) == before
    response = client.post("/api/v1/signals", json={"name": "go", "payload": {"a": 1}})
    assert response.status_code == 200 and response.get_json() == {"caught": waiting}
    with org.rt.uow(write=False) as uow:
        assert {uow.session.get(ProcessInstance, i).status for i in waiting} == {"completed"}
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "signal.send")) == 1
