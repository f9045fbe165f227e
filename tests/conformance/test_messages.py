"""Messages between the pools of a collaboration (models/messages/): raw SpiffWorkflow runs
both pools in one workflow; IRPM deploys each as its own process and runs separate
instances. Same status, data and path per pool.

order_collaboration.bpmn, one file: the buyer's intermediate throw starts the seller through
its message start event (the payload into ``messageVariable``, the correlation key
``order`` taken from it); the seller's message end event reaches the buyer waiting with the
same ``order_id``. requester.bpmn and responder.bpmn (or responder_at_once.bpmn), deployed
separately (raw: joined by request_collaboration.bpmn): a send task starts the responder,
whose send task answers the requester's receive task."""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

from engine.runtime import Runtime
from engine.services import signals

from .collab import PoolStep, complete_in_pool, irpm_pools, run_raw_collaboration
from .compare import ACTOR, MODELS, T0, Outcome, _outcome, deploy, irpm_outcome, start_at

MODEL = "messages/order_collaboration.bpmn"
SIGNAL_MODEL = "messages/signal_wait.bpmn"
ORDER = PoolStep("buyer", "place_order", {"order_id": "A-1", "item": "钢笔"})
INVOICE = PoolStep("seller", "prepare_invoice", {"total": 30})


def _both(rt: Runtime, steps: tuple[PoolStep, ...], files: tuple[str, ...] = (MODEL,),
          collaboration: str = "order_collab", first: str = "buyer",
          joined_by: tuple[str, ...] = ()) -> dict[str, Outcome]:
    raw = run_raw_collaboration([*files, *joined_by], collaboration, steps, T0)
    for filename in files:
        deploy(rt, filename)
    start_at(rt, first, T0)
    for step in steps:
        complete_in_pool(rt, step)
    persisted = irpm_pools(rt)
    assert persisted == raw, f"IRPM {persisted} != SpiffWorkflow {raw}"
    return raw


def test_a_throw_starts_the_other_pool_at_its_message_start(rt: Runtime) -> None:
    pools = _both(rt, (ORDER,))
    assert pools["seller"].status == "waiting"
    assert pools["seller"].data == {"order": {"order_id": "A-1", "item": "钢笔"}}
    assert pools["buyer"].path == ["buyer_start", "place_order", "send_order"]


def test_the_answer_reaches_the_waiting_correlated_sender(rt: Runtime) -> None:
    pools = _both(rt, (ORDER, INVOICE))
    assert pools["buyer"].status == pools["seller"].status == "completed"
    assert pools["buyer"].data["invoice"] == {"order_id": "A-1", "total": 30}
    assert pools["seller"].path == ["order_received", "prepare_invoice", "invoice_sent"]


def test_send_and_receive_tasks_between_separately_deployed_processes(rt: Runtime) -> None:
    pools = _both(rt, (PoolStep("requester", "ask", {"question": "几点?"}),
                       PoolStep("responder", "answer", {"answer": "九点"})),
                  ("messages/requester.bpmn", "messages/responder.bpmn"), "request_collab",
                  "requester", ("messages/request_collaboration.bpmn",))
    assert pools["requester"].status == pools["responder"].status == "completed"
    assert pools["requester"].data["reply"] == {"answer": "九点", "to": "几点?"}
    assert pools["requester"].path == ["requester_start", "ask", "send_request",
                                       "receive_reply", "requester_end"]


def test_an_answer_in_the_same_step_reaches_the_sender(rt: Runtime) -> None:
    """A responder that answers at once (a script, then its send task): SpiffWorkflow runs
    the participant its message started after the requester's step has reached its receive
    task, and IRPM delivers once the requester's step is over — both catch the answer."""
    steps = (PoolStep("requester", "ask", {"question": "几点?"}),)
    pools = _both(rt, steps, ("messages/requester.bpmn", "messages/responder_at_once.bpmn"),
                  "request_at_once_collab", "requester",
                  ("messages/request_at_once_collaboration.bpmn",))
    assert pools["requester"].status == pools["responder_at_once"].status == "completed"
    assert pools["requester"].data["reply"] == {"answer": "即刻", "to": "几点?"}


def test_a_signal_sent_from_outside(rt: Runtime) -> None:
    """``signals.send_signal`` with no instance named reaches every instance waiting for the
    signal; SpiffWorkflow catches the same signal as an external event."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / SIGNAL_MODEL))
    raw = BpmnWorkflow(parser.get_spec("signal_wait"))
    raw.do_engine_steps()
    raw.catch(BpmnEvent(SignalEventDefinition("go"), payload={"by": "市纪委"}))
    raw.do_engine_steps()
    deploy(rt, SIGNAL_MODEL)
    first, second = start_at(rt, "signal_wait", T0), start_at(rt, "signal_wait", T0)
    with rt.uow() as uow:
        caught = signals.send_signal(uow, "go", {"by": "市纪委"}, ACTOR)
    assert caught == [first, second]
    expected = _outcome(raw)
    assert expected.status == "completed" and expected.data == {"went": True}
    assert irpm_outcome(rt, first) == irpm_outcome(rt, second) == expected
