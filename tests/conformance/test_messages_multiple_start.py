"""A multiple or parallel-multiple start event holding message ``go`` (models/
multiple_start.bpmn, models/parallel_multiple_start.bpmn: ``go`` or a P1D timer), started by
the message — thrown by another pool (messages/go_sender.bpmn) or sent from outside with no
instance named. SpiffWorkflow starts such a participant as it starts one at a plain message
start event (``EventManager.update_collaboration`` compares the start event's definition
with the message's, and a ``MultipleEventDefinition`` equals any of its members); IRPM
starts a new instance the same way. Same status, data and path as raw SpiffWorkflow."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import select

from engine.clock import FrozenClock, bind_clock
from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.services import clock, messages, timers

from .collab import PoolStep, complete_in_pool, irpm_pools, run_raw_collaboration
from .compare import (
    ACTOR,
    MODELS,
    T0,
    Outcome,
    _outcome,
    deploy,
    irpm_outcome,
    start_at,
    timer_rows,
)

SENDER = "messages/go_sender.bpmn"
DECIDE = PoolStep("go_sender", "decide", {"by": "市纪委"})
DAY = T0 + timedelta(days=1)
KINDS = ["multiple", "parallel_multiple"]


def _files(kind: str) -> list[str]:
    return [SENDER, f"{kind}_start.bpmn", f"messages/{kind}_start_collaboration.bpmn"]


def _receivers(rt: Runtime, process_id: str) -> list[int]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.process_id == process_id).order_by(ProcessInstance.id)))


@pytest.mark.parametrize("kind", KINDS)
def test_a_thrown_message_starts_a_multiple_start_pool(rt: Runtime, kind: str) -> None:
    """The sender's throw starts the receiver: a multiple start goes on at once, a
    parallel multiple one waits at its start event for its timer as well."""
    raw = run_raw_collaboration(_files(kind), f"{kind}_start_collab", (DECIDE,), T0)
    for filename in (SENDER, f"{kind}_start.bpmn"):
        deploy(rt, filename)
    start_at(rt, "go_sender", T0)
    complete_in_pool(rt, DECIDE)
    persisted = irpm_pools(rt)
    assert persisted == raw, f"IRPM {persisted} != SpiffWorkflow {raw}"
    receiver = raw[f"{kind}_start"]
    if kind == "multiple":
        assert (receiver.status, receiver.data, receiver.path) == (
            "completed", {"started": True}, ["start", "mark", "end"])
    else:
        assert (receiver.status, receiver.path) == ("waiting", [])


def _raw_sent_from_outside(kind: str, payload: dict[str, str], later: bool) -> Outcome:
    """SpiffWorkflow catching ``go`` from outside the collaboration (the sender waits at
    its user task): the receiver's participant started by it; then the clock a day on."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(MODELS / f) for f in _files(kind)])
    with bind_clock(FrozenClock(T0)):
        workflow = BpmnWorkflow(*parser.get_collaboration(f"{kind}_start_collab"))
        workflow.do_engine_steps()
        workflow.catch(BpmnEvent(MessageEventDefinition("go"), payload=copy.deepcopy(payload)))
        workflow.do_engine_steps()
    if later:
        with bind_clock(FrozenClock(DAY + timedelta(microseconds=1))):
            workflow.refresh_timers()
            workflow.do_engine_steps()
    [receiver] = [sp for sp in workflow.subprocesses.values()
                  if sp.spec.name == f"{kind}_start"]
    return _outcome(receiver)


@pytest.mark.parametrize("later", [False, True], ids=["at once", "a day later"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_message_sent_from_outside_starts_a_multiple_start_process(
        rt: Runtime, kind: str, later: bool) -> None:
    """``messages.send`` with no instance named starts the process, as a plain message
    start does; a parallel multiple start keeps its timer row and goes on when it fires."""
    payload = {"by": "市纪委"}
    raw = _raw_sent_from_outside(kind, payload, later)
    deploy(rt, f"{kind}_start.bpmn")
    with rt.uow() as uow:
        clock.set_clock(uow, T0)
        uow.commit()
    with rt.uow() as uow:
        sent = messages.send(uow, "go", payload, ACTOR)
    assert sent.caught == [] and sent.started == _receivers(rt, f"{kind}_start")
    [iid] = sent.started
    assert timer_rows(rt, iid) == ([] if kind == "multiple" else [("start", "duration", DAY)])
    if later:
        with rt.uow() as uow:
            timers.advance_to(uow, DAY)
    assert irpm_outcome(rt, iid) == raw
    expected_done = kind == "multiple" or later
    assert raw.status == ("completed" if expected_done else "waiting")
    if expected_done:
        assert raw.data == {"started": True} and timer_rows(rt, iid) == []
