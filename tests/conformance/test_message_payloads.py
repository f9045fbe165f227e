"""Intermediate message catches with a payload (models/message_payload.bpmn): SpiffWorkflow
puts the payload into the task data under the catch's ``spiffworkflow:messageVariable``;
a plain catch (no variable) drops it — the spiff parser's behaviour, which IRPM deploys
with. IRPM keeps both as they are."""

from __future__ import annotations

from engine.runtime import Runtime

from .compare import T0, Send, assert_same

MODEL, PROCESS = "message_payload.bpmn", "message_payload"
REPLY = {"answer": "同意", "score": 90, "items": ["甲", "乙"]}


def test_the_payload_lands_in_the_message_variable(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, {"case": "A-1"}, (Send("reply", REPLY),))
    assert outcome.status == "waiting"
    assert outcome.data == {"case": "A-1", "reply": REPLY}


def test_a_plain_catch_drops_its_payload_in_both(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, {"case": "A-1"},
                          (Send("reply", REPLY), Send("note", {"text": "备注"})))
    assert outcome.status == "completed"
    assert outcome.data == {"case": "A-1", "reply": REPLY}
    assert outcome.path == ["start", "reply_received", "note_received", "end"]
