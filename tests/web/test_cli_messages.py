"""``irpm messages send`` (web/cli/messages.py): the shell operator starts a message-start
process and answers the correlated waiting instance; bad input exits 1 with one specific
``error:`` line and changes nothing; each send is audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.models import AuditEntry, ProcessInstance
from engine.runtime import Runtime
from engine.services import instances
from tests.conformance.collab import PoolStep, complete_in_pool
from tests.conformance.compare import ACTOR, deploy, irpm_outcome
from web.cli import main


class Irpm:
    def __init__(self, database_url: str) -> None:
        self.runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": None})

    def json(self, *args: str) -> Any:
        result = self.runner.invoke(main, ["--json", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def fails(self, *args: str) -> str:
        result = self.runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 1 and result.stdout == "", result.output
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        return line


@pytest.fixture
def irpm(rt: Runtime, database_url: str) -> Irpm:
    deploy(rt, "messages/order_collaboration.bpmn")
    return Irpm(database_url)


def _counts(rt: Runtime) -> tuple[int, int]:
    with rt.uow(write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
                uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_send_starts_and_answers(irpm: Irpm, rt: Runtime) -> None:
    sent = irpm.json("messages", "send", "order", "--payload",
                     '{"order_id": "A-1", "item": "纸"}')
    assert sent["caught"] == [] and len(sent["started"]) == 1
    with rt.uow() as uow:
        buyer = instances.start_instance(uow, "buyer", actor=ACTOR).id
    complete_in_pool(rt, PoolStep("buyer", "place_order", {"order_id": "B-2", "item": "墨"}))
    sent = irpm.json("messages", "send", "invoice", "--payload",
                     '{"order_id": "B-2", "total": 3}', "--correlate", "order_id=B-2")
    assert sent["caught"] == [buyer]
    assert irpm_outcome(rt, buyer).data["invoice"] == {"order_id": "B-2", "total": 3}
    with rt.uow(write=False) as uow:
        actors = {e.actor for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "message.send"))}
    assert len(actors) == 1 and actors.pop().startswith("shell:")


@pytest.mark.parametrize(("args", "text"), [
    (("nobody_uses_this",), "no deployed process uses message 'nobody_uses_this'"),
    (("order", "--payload", "{bad"), "--payload is not valid JSON"),
    (("order", "--payload", "[1]"), "--payload must be a JSON object"),
    (("invoice", "--payload", '{"order_id": "Z"}'), "no instance waits for message"),
    (("invoice", "--payload", '{"total": 1}'), "order_id"),
    (("invoice", "--payload", '{"order_id": "Z"}', "--correlate", "order_id"),
     "write property=value"),
    (("invoice", "--payload", '{"order_id": "Z"}', "--correlate", "order_id=Y"),
     "make them agree"),
    (("invoice", "--instance", "99"), "process instance 99 does not exist"),
    (("order", "--user", "nobody"), "nobody"),
])
def test_bad_input_exits_with_one_line_and_changes_nothing(
        irpm: Irpm, rt: Runtime, args: tuple[str, ...], text: str) -> None:
    before = _counts(rt)
    assert text in irpm.fails("messages", "send", *args)
    assert _counts(rt) == before


def test_signals_send(irpm: Irpm, rt: Runtime) -> None:
    deploy(rt, "messages/signal_wait.bpmn")
    with rt.uow() as uow:
        waiting = instances.start_instance(uow, "signal_wait", actor=ACTOR).id
    before = _counts(rt)
    assert "no instance is waiting for signal 'stop'" in irpm.fails("signals", "send", "stop")
    assert f"process instance {waiting + 1} does not exist" in irpm.fails(
        "signals", "send", "go", "--instance", str(waiting + 1))
    assert _counts(rt) == before
    assert irpm.json("signals", "send", "go", "--instance", str(waiting)) == {
        "name": "go", "caught": [waiting]}
    assert irpm_outcome(rt, waiting).status == "completed"
