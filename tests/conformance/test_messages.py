"""Messages between the pools of a collaboration (models/messages/): raw SpiffWorkflow runs
both pools in one workflow; IRPM deploys each as its own process and runs separate
instances. The buyer's throw starts the seller through its message start event (the payload
into ``messageVariable``, the correlation key ``order`` taken from it); the seller's message
end event reaches the buyer waiting with the same ``order_id``. Same status, data and path
per pool."""

from __future__ import annotations

from engine.runtime import Runtime

from .collab import PoolStep, complete_in_pool, irpm_pools, run_raw_collaboration
from .compare import T0, deploy, start_at

MODEL = "messages/order_collaboration.bpmn"
ORDER = PoolStep("buyer", "place_order", {"order_id": "A-1", "item": "钢笔"})
INVOICE = PoolStep("seller", "prepare_invoice", {"total": 30})


def _both(rt: Runtime, steps: tuple[PoolStep, ...]) -> dict:
    raw = run_raw_collaboration(MODEL, "order_collab", steps, T0)
    deploy(rt, MODEL)
    start_at(rt, "buyer", T0)
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
