"""Messages without a target instance (``engine.services.messages.send``) and between
instances: correlation picks the receiver, a message start event starts a new instance,
the ``message_wait`` rows follow the workflows, bad input changes nothing, and a throw and
everything it causes commit together or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.actors import Actor
from engine.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from engine.messaging import delivery
from engine.models import (
    AuditEntry,
    InstanceEvent,
    InstanceStatus,
    MessageWait,
    ProcessInstance,
)
from engine.operators import OperatorCall
from engine.runtime import Runtime
from engine.services import instances, messages, tasks
from tests.conformance.collab import PoolStep, complete_in_pool
from tests.conformance.compare import ACTOR, deploy, irpm_outcome

ADMIN = Actor("admin", frozenset(), is_admin=True)
ORDERS = "messages/order_collaboration.bpmn"


def _buyer(rt: Runtime, order_id: str) -> int:
    with rt.uow() as uow:
        iid = instances.start_instance(uow, "buyer", order_id, actor=ACTOR).id
    with rt.uow() as uow:
        [task] = instances.open_tasks(uow, iid)
        tasks.complete_task(uow, task.id, ACTOR, {"order_id": order_id, "item": "纸"})
    return iid


def _instances(rt: Runtime, process_id: str) -> list[ProcessInstance]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_id == process_id).order_by(ProcessInstance.id)))


def _counts(rt: Runtime) -> tuple[int, ...]:
    with rt.uow(write=False) as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (ProcessInstance, InstanceEvent, AuditEntry, MessageWait))


def _waits(rt: Runtime) -> list[tuple[int, str, Any]]:
    with rt.uow(write=False) as uow:
        return [(w.instance_id, w.name, w.correlations) for w in uow.session.scalars(
            select(MessageWait).order_by(MessageWait.instance_id))]


@pytest.fixture
def orders(rt: Runtime) -> Runtime:
    deploy(rt, ORDERS)
    return rt


def test_the_answer_goes_only_to_the_correlated_instance(orders: Runtime) -> None:
    a, b = _buyer(orders, "A-1"), _buyer(orders, "B-2")
    sellers = [s.id for s in _instances(orders, "seller")]
    assert len(sellers) == 2
    assert _waits(orders) == [(a, "invoice", {"order": {"order_id": "A-1"}}),
                              (b, "invoice", {"order": {"order_id": "B-2"}})]
    with orders.uow() as uow:
        [task] = instances.open_tasks(uow, sellers[1])
        tasks.complete_task(uow, task.id, ACTOR, {"total": 7})
    assert irpm_outcome(orders, b).data["invoice"] == {"order_id": "B-2", "total": 7}
    assert irpm_outcome(orders, a).status == "waiting"
    assert [w[0] for w in _waits(orders)] == [a]
    with orders.uow(write=False) as uow:
        sent = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == sellers[1], InstanceEvent.type == "message_sent"))
        assert [(e.data or {})["caught_by"] for e in sent] == [[b]]


def test_a_message_from_outside_starts_the_message_start_process(orders: Runtime) -> None:
    with orders.uow() as uow:
        sent = messages.send(uow, "order", {"order_id": "C-3", "item": "墨"}, ADMIN)
    assert sent.caught == [] and len(sent.started) == 1
    assert sent.correlations == {"order": {"order_id": "C-3"}}
    [seller] = _instances(orders, "seller")
    assert seller.id == sent.started[0] and seller.status == InstanceStatus.WAITING
    assert irpm_outcome(orders, seller.id).data == {"order": {"order_id": "C-3", "item": "墨"}}
    with orders.uow(write=False) as uow:
        types = [e.type for e in uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == seller.id).order_by(InstanceEvent.id))]
        assert types[:2] == ["started", "message_received"]
        [entry] = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "message.send"))
        assert entry.actor == "admin" and (entry.details or {})["started"] == [seller.id]


def test_a_message_named_by_correlation_reaches_its_instance_only(orders: Runtime) -> None:
    a, b = _buyer(orders, "A-1"), _buyer(orders, "B-2")
    with orders.uow() as uow:
        sent = messages.send(uow, "invoice", {"order_id": "A-1", "total": 5}, ADMIN,
                             correlation={"order_id": "A-1"})
    assert sent.caught == [a]
    assert irpm_outcome(orders, a).data["invoice"] == {"order_id": "A-1", "total": 5}
    assert irpm_outcome(orders, b).status == "waiting"


@pytest.mark.parametrize(("name", "payload", "correlation", "error", "text"), [
    ("nobody_uses_this", {}, None, NotFound, "no deployed process uses message"),
    ("invoice", {"order_id": "Z-9"}, None, Conflict, "order_id='Z-9'"),
    ("invoice", {"total": 1}, None, ValidationFailed, "order_id"),
    ("invoice", {}, {"colour": "red"}, ValidationFailed, "colour"),
    ("invoice", {"order_id": "A-1"}, {"order_id": "B-2"}, ValidationFailed, "make them agree"),
    ("invoice", {}, {"order_id": ["A-1"]}, ValidationFailed, "correlation"),
    ("invoice", "not an object", None, ValidationFailed, "JSON object"),
    ("", {}, None, ValidationFailed, "name has 1 to"),
])
def test_bad_messages_are_refused_and_change_nothing(
        orders: Runtime, name: str, payload: Any, correlation: Any,
        error: type[Exception], text: str) -> None:
    _buyer(orders, "A-1")
    before = _counts(orders)
    with orders.uow() as uow, pytest.raises(error, match=text):
        messages.send(uow, name, payload, ADMIN, correlation=correlation)
    assert _counts(orders) == before


def test_an_oversize_payload_is_refused(orders: Runtime) -> None:
    limit = orders.settings.max_task_data_bytes
    with orders.uow() as uow, pytest.raises(ValidationFailed, match=r"bytes|large|KB|MB"):
        messages.send(uow, "order", {"order_id": "A", "item": "x" * limit}, ADMIN)
    assert _instances(orders, "seller") == []


def test_a_message_to_a_named_instance_must_correlate(orders: Runtime) -> None:
    a = _buyer(orders, "A-1")
    with orders.uow() as uow, pytest.raises(Conflict, match="other correlation values"):
        messages.send(uow, "invoice", {"order_id": "B-2"}, ADMIN, instance_id=a)
    with orders.uow() as uow:
        sent = messages.send(uow, "invoice", {"order_id": "A-1", "total": 2}, ADMIN,
                             instance_id=a)
    assert sent.caught == [a] and sent.correlations == {"order": {"order_id": "A-1"}}
    assert irpm_outcome(orders, a).status == "completed"


def test_a_process_started_only_by_a_message_cannot_be_started_plainly(
        orders: Runtime) -> None:
    with orders.uow() as uow, pytest.raises(InvalidState, match=r"only when it receives .*order"):
        instances.start_instance(uow, "seller", actor=ACTOR)
    assert _instances(orders, "seller") == []


def test_a_throw_and_all_it_causes_commit_together_or_not_at_all(
        rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two instances answering each other without end: at the cap the transaction fails,
    and neither the completed task nor any message of the chain is kept."""
    deploy(rt, "messages/ping_pong.bpmn")
    with rt.uow() as uow:
        ponger = instances.start_instance(uow, "ponger", actor=ACTOR).id
    with rt.uow() as uow:
        pinger = instances.start_instance(uow, "pinger", actor=ACTOR).id
    before = _counts(rt)
    monkeypatch.setattr(delivery, "MAX_DELIVERIES", 6)
    with pytest.raises(Conflict, match="more than 6 messages"):
        complete_in_pool(rt, PoolStep("pinger", "begin", {}))
    assert _counts(rt) == before
    assert irpm_outcome(rt, pinger).path == ["pinger_start"]
    assert irpm_outcome(rt, ponger).path == ["ponger_start", "again_pong"]


def test_only_administrators_send_messages(orders: Runtime) -> None:
    commission = Actor("jiwei", frozenset({"city_oversight"}))
    with orders.uow() as uow, pytest.raises(Forbidden, match="only administrators"):
        messages.send(uow, "order", {"order_id": "A", "item": "纸"}, commission)
    assert _instances(orders, "seller") == []


def test_a_receiver_that_cannot_read_the_payload_refuses_the_senders_step(rt: Runtime) -> None:
    """SpiffWorkflow's catch evaluates the receiver's correlation properties on the payload;
    when that fails, the sender's step is refused with why, and nothing changes."""
    deploy(rt, "messages/requester.bpmn")
    deploy(rt, "messages/picky.bpmn")
    with rt.uow() as uow:
        picky = instances.start_instance(uow, "picky", actor=ACTOR).id
    with rt.uow() as uow:
        requester = instances.start_instance(uow, "requester", actor=ACTOR).id
    before = _counts(rt)
    with pytest.raises(Conflict, match=f"instance {picky} .*cannot take message 'request'"):
        complete_in_pool(rt, PoolStep("requester", "ask", {"question": "?"}))
    assert _counts(rt) == before
    assert irpm_outcome(rt, requester).path == ["requester_start"]


def test_a_message_to_an_instance_whose_engine_is_running_waits_for_its_save(
        rt: Runtime) -> None:
    """A service task's operator starts another process, which throws back at once: the
    asker is in the middle of its own step, so the message is caught when that step is
    saved — not by stepping it inside itself — in the same transaction."""
    def start_echo(call: OperatorCall) -> int:
        return instances.begin_instance(call.uow, "echo", now=call.now).id

    rt.register_operator("test.start_echo", start_echo)
    deploy(rt, "messages/operator_echo.bpmn")
    with rt.uow() as uow:
        asker = instances.start_instance(uow, "asker", actor=ACTOR).id
    complete_in_pool(rt, PoolStep("asker", "first", {}))
    outcome = irpm_outcome(rt, asker)
    assert outcome.status == "completed" and outcome.data["back"] == {"from": "echo"}
    [echo] = _instances(rt, "echo")
    assert echo.status == InstanceStatus.COMPLETED
    with rt.uow(write=False) as uow:
        [sent] = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == echo.id, InstanceEvent.type == "message_sent"))
        assert (sent.data or {})["caught_by"] == [asker]
