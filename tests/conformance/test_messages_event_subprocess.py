"""A message to the message start event of a running instance's event subprocess
(models/messages/event_subprocess_start.bpmn: ``note_taker`` waits at user task ``work``;
its non-interrupting event subprocess starts on message ``note``, the payload into
``note``). SpiffWorkflow keeps no waiting task for it — ``workflow.catch`` reaches it
through the trigger specs of the process's start — and IRPM reaches it the same way, found
through a ``message_wait`` row read from the spec. Same status, data and path as raw
SpiffWorkflow catching the message as an external event; a message another instance throws
does not reach it, as in a SpiffWorkflow collaboration."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.clock import FrozenClock, bind_clock
from engine.errors import Conflict, InvalidState
from engine.models import InstanceStatus, MessageWait
from engine.runtime import Runtime
from engine.services import instances, messages, signals, tasks

from .collab import PoolStep, complete_in_pool, irpm_pools, run_raw_collaboration
from .compare import ACTOR, MODELS, T0, Outcome, _outcome, deploy, irpm_outcome, start_at

MODEL = "messages/event_subprocess_start.bpmn"
NOTE = {"text": "已阅"}


def _raw(notes: int, then_work: bool) -> Outcome:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / MODEL))
    with bind_clock(FrozenClock(T0)):
        workflow = BpmnWorkflow(parser.get_spec("note_taker"),
                                parser.get_subprocess_specs("note_taker"))
        workflow.do_engine_steps()
        for _ in range(notes):
            workflow.send_event(BpmnEvent(MessageEventDefinition("note"),
                                          payload=copy.deepcopy(NOTE)))
            workflow.do_engine_steps()
        if then_work:
            [task] = workflow.get_tasks(state=SpiffState.READY, spec_name="work")
            task.run()
            workflow.do_engine_steps()
    return _outcome(workflow)


def _work(rt: Runtime, iid: int) -> None:
    with rt.uow() as uow:
        [task] = instances.open_tasks(uow, iid)
        tasks.complete_task(uow, task.id, ACTOR, {})


def _rows(rt: Runtime) -> list[tuple[int, str, str, Any]]:
    with rt.uow(write=False) as uow:
        return [(w.instance_id, w.element_id, w.name, w.correlations)
                for w in uow.session.scalars(select(MessageWait).order_by(MessageWait.id))]


@pytest.mark.parametrize(("notes", "then_work"), [(1, False), (2, False), (1, True)],
                         ids=["one note", "two notes", "a note, then the work"])
def test_a_message_sent_with_no_instance_reaches_the_event_subprocess(
        rt: Runtime, notes: int, then_work: bool) -> None:
    raw = _raw(notes, then_work)
    deploy(rt, MODEL)
    iid = start_at(rt, "note_taker", T0)
    assert _rows(rt) == [(iid, "note_start", "note", None)]
    for _ in range(notes):
        with rt.uow() as uow:
            sent = messages.send(uow, "note", copy.deepcopy(NOTE), ACTOR)
        assert (sent.caught, sent.started) == ([iid], [])
    if then_work:
        _work(rt, iid)
    assert irpm_outcome(rt, iid) == raw
    if then_work:
        assert raw.status == "completed" and _rows(rt) == []
    else:
        assert raw.status == "waiting" and raw.data["noted"] == "已阅"
        assert raw.path.count("file_note") == notes
        assert _rows(rt) == [(iid, "note_start", "note", None)]


def test_a_message_to_the_named_instance_reaches_the_event_subprocess(rt: Runtime) -> None:
    raw = _raw(1, False)
    deploy(rt, MODEL)
    iid = start_at(rt, "note_taker", T0)
    with rt.uow() as uow:
        messages.send_message(uow, iid, "note", copy.deepcopy(NOTE), ACTOR)
    assert irpm_outcome(rt, iid) == raw


def test_every_running_instance_takes_it_and_an_ended_one_does_not(rt: Runtime) -> None:
    deploy(rt, MODEL)
    first, second, done = (start_at(rt, "note_taker", T0) for _ in range(3))
    _work(rt, done)
    with rt.uow() as uow:
        sent = messages.send(uow, "note", copy.deepcopy(NOTE), ACTOR)
    assert sent.caught == [first, second]
    assert irpm_outcome(rt, done).status == InstanceStatus.COMPLETED
    with rt.uow() as uow, pytest.raises(InvalidState, match="is completed; it takes no"):
        messages.send_message(uow, done, "note", copy.deepcopy(NOTE), ACTOR)


def test_a_message_thrown_by_another_instance_does_not_reach_it(rt: Runtime) -> None:
    """As in a SpiffWorkflow collaboration (messages/note_collaboration.bpmn): a pool's
    throw reaches the other pools' waiting catches and participant start events, not their
    event subprocesses — the taker goes on waiting at its work, untouched."""
    write = PoolStep("note_sender", "decide", {"text": "已阅"})
    raw = run_raw_collaboration(["messages/note_sender.bpmn", MODEL,
                                 "messages/note_collaboration.bpmn"], "note_collab",
                                (write,), T0)
    deploy(rt, MODEL)
    deploy(rt, "messages/note_sender.bpmn")
    taker = start_at(rt, "note_taker", T0)
    start_at(rt, "note_sender", T0)
    complete_in_pool(rt, write)
    assert irpm_pools(rt) == raw
    assert raw["note_taker"].path == ["taker_start"]
    assert _rows(rt) == [(taker, "note_start", "note", None)]


def test_a_signal_sent_from_outside_reaches_an_event_subprocess_signal_start(
        rt: Runtime) -> None:
    """models/messages/event_subprocess_signal.bpmn: the same shape, started by signal
    ``ping`` (a ``signal_start`` row); ``signals.send_signal`` with no instance named
    reaches it as SpiffWorkflow's ``send_event`` does."""
    model = "messages/event_subprocess_signal.bpmn"
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / model))
    with bind_clock(FrozenClock(T0)):
        workflow = BpmnWorkflow(parser.get_spec("ping_taker"),
                                parser.get_subprocess_specs("ping_taker"))
        workflow.do_engine_steps()
        workflow.send_event(BpmnEvent(SignalEventDefinition("ping"), payload={}))
        workflow.do_engine_steps()
    raw = _outcome(workflow)
    deploy(rt, model)
    iid = start_at(rt, "ping_taker", T0)
    with rt.uow() as uow:
        assert signals.send_signal(uow, "ping", {}, ACTOR) == [iid]
    assert irpm_outcome(rt, iid) == raw
    assert (raw.status, raw.data["pinged"]) == ("waiting", True)
    assert "file_note" in raw.path


def test_a_correlated_message_reaches_only_the_instance_it_names(rt: Runtime) -> None:
    """IRPM's choice (models/messages/case_notes.bpmn: the case throws ``case_opened``,
    giving it the correlation value ``case_id``; its event subprocess starts on
    ``case_note``, correlated by the same key): a note for case C-1 reaches the C-1 instance
    only — SpiffWorkflow's new event subprocess would take any — with the data and path
    SpiffWorkflow gives the C-1 instance; a note for a case nobody has is refused."""
    model = "messages/case_notes.bpmn"
    note = {"case_id": "C-1", "text": "已阅"}
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / model))
    with bind_clock(FrozenClock(T0)):
        workflow = BpmnWorkflow(parser.get_spec("case_notes"),
                                parser.get_subprocess_specs("case_notes"))
        workflow.do_engine_steps()
        [task] = workflow.get_tasks(state=SpiffState.READY, spec_name="open")
        task.set_data(case_id="C-1")
        task.run()
        workflow.do_engine_steps()
        correlations = {"case": {"case_id": "C-1"}}
        assert workflow.correlations == correlations
        workflow.send_event(BpmnEvent(MessageEventDefinition("case_note"),
                                      payload=copy.deepcopy(note), correlations=correlations))
        workflow.do_engine_steps()
    raw = _outcome(workflow)
    deploy(rt, model)
    cases = {}
    for case_id in ("C-1", "C-2"):
        cases[case_id] = start_at(rt, "case_notes", T0)
        with rt.uow() as uow:
            [open_task] = instances.open_tasks(uow, cases[case_id])
            tasks.complete_task(uow, open_task.id, ACTOR, {"case_id": case_id})
    with rt.uow() as uow:
        sent = messages.send(uow, "case_note", copy.deepcopy(note), ACTOR)
    assert sent.caught == [cases["C-1"]]
    assert irpm_outcome(rt, cases["C-1"]) == raw
    assert "file_case_note" in raw.path and raw.data["noted"] == "已阅"
    assert "file_case_note" not in irpm_outcome(rt, cases["C-2"]).path
    before = irpm_outcome(rt, cases["C-1"])
    with rt.uow() as uow, pytest.raises(Conflict, match="no instance waits for message"):
        messages.send(uow, "case_note", {"case_id": "C-9", "text": "?"}, ACTOR)
    assert irpm_outcome(rt, cases["C-1"]) == before
