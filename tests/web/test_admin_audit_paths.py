"""Issue 13, finding 5: every administrative act, through every door, is one audited service
under one rule (``engine.services.admin_rule``).

The finding: suspending or terminating through ``/api/v1/instances/<id>/…`` wrote no
``admin_audit`` row, took no reason, and let the city's discipline commission (``jiwei``)
steer instances the console refuses it. Here each administrative route of the REST API
(``web.api.instance_admin.OPERATIONS``) and each administrative ``irpm`` command is driven
as the commission and as a member of staff (403 / exit 1, nothing changed), as an
administrator without a reason (422 naming ``reason`` / exit 1 saying so, nothing changed)
and as an administrator with one (done, exactly one ``admin_audit`` row saying who, what,
on what and why). The console's own refusals are tests/web/test_console.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import AuditEntry, HumanTask, ProcessInstance
from engine.parsing import Source
from engine.programme.models import Account
from engine.programme.services import organisation
from engine.services import clock, deployment, instance_admin, instances
from tests.conftest import FIXTURES
from tests.inbox_org import INBOX_CYCLE, PASSWORD
from web.api.instance_admin import OPERATIONS
from web.cli import main
from web.cli.state import shell_operator

from .conftest import Org

ADMIN, COMMISSION, STAFF, COLLEAGUE = "admin", "jiwei", "czj-0011", "czj-0012"
POST = "CZJ-BGS-02"
WHY = "依规处理(工单 13)"
#: A script that needs ``x`` (so an instance started without it fails), then a user task.
NEEDS_X = FIXTURES / "needs_x.bpmn"



# ----------------------------------------------------------------------------- the world


def started(org: Org) -> int:
    return org.start(POST)


def suspended(org: Org) -> int:
    iid = org.start(POST)
    with org.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "suspend", iid, organisation.actor_for(uow, ADMIN),
                                       "准备")
    return iid


def failed(org: Org) -> int:
    """An instance of ``needs_x`` whose script failed: ``x`` is missing."""
    with org.rt.uow() as uow:
        deployment.deploy(uow, [Source("needs_x.bpmn", NEEDS_X.read_bytes())],
                          deployed_by="tests")
    with org.rt.uow() as uow:
        instance = instances.start_instance(uow, "needs_x", "k", {},
                                            actor=organisation.actor_for(uow, ADMIN))
    assert instance.status == "error"
    return instance.id


def second_version(org: Org) -> int:
    """An instance of inbox_cycle 1 with version 2 deployed (a renamed step: safe)."""
    iid = org.start(POST)
    source = INBOX_CYCLE.read_text(encoding="utf-8").replace("严格审核把关", "严格审核把关(修订)")
    with org.rt.uow() as uow:
        [found] = deployment.deploy(uow, [Source("inbox_cycle.bpmn", source.encode())],
                                    deployed_by="tests")
    assert found.version == 2
    return iid


@dataclass(frozen=True)
class Snapshot:
    """What an administrative act could change: instances, tasks, the clock, accounts'
    sessions, and the audit log."""

    instances: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]
    clock: tuple[bool, Any]
    sessions: list[tuple[Any, ...]]
    audit_ids: list[int]


def snapshot(org: Org) -> Snapshot:
    with org.rt.uow(write=False) as uow:
        session = uow.session
        return Snapshot(
            [tuple(r) for r in session.execute(select(
                ProcessInstance.id, ProcessInstance.revision, ProcessInstance.status,
                ProcessInstance.definition_id).order_by(ProcessInstance.id))],
            [tuple(r) for r in session.execute(select(
                HumanTask.id, HumanTask.state, HumanTask.assignee).order_by(HumanTask.id))],
            (clock.is_simulated(uow), clock.now(uow) if clock.is_simulated(uow) else None),
            [tuple(r) for r in session.execute(select(
                Account.username, Account.session_version).order_by(Account.username))],
            list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id))))


def new_entries(org: Org, before: Snapshot) -> list[AuditEntry]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.id.not_in(before.audit_ids) if before.audit_ids else True)
            .order_by(AuditEntry.id)))


# ----------------------------------------------------------------------------- the API


@dataclass(frozen=True)
class ApiCase:
    endpoint: str
    #: The act's name in the audit log.
    action: str
    prepare: Callable[[Org], int]
    #: The request's path under the instance and its body (without the reason).
    request: Callable[[Org, int], tuple[str, dict[str, Any]]]
    #: The audit entry's target.
    target: Callable[[Org, int], str]


def _task(org: Org, iid: int) -> HumanTask:
    return org.open_task(iid)


def _instance_target(_org: Org, iid: int) -> str:
    return f"instance:{iid}"


API_CASES = [
    ApiCase("suspend", "suspend", started, lambda o, i: ("suspend", {}), _instance_target),
    ApiCase("resume", "resume", suspended, lambda o, i: ("resume", {}), _instance_target),
    ApiCase("terminate", "terminate", started, lambda o, i: ("terminate", {}),
            _instance_target),
    ApiCase("retry", "retry", failed, lambda o, i: ("retry", {"data": {"x": 1}}),
            _instance_target),
    ApiCase("set_variables", "set_variables", started,
            lambda o, i: ("variables", {"variables": {"unit_code": "FGW"}}), _instance_target),
    ApiCase("move_token", "move_token", started,
            lambda o, i: ("move", {"from_task": str(_task(o, i).id), "to": "review"}),
            _instance_target),
    ApiCase("migrate", "migrate", second_version, lambda o, i: ("migrate", {"version": 2}),
            _instance_target),
    ApiCase("reassign", "reassign", started,
            lambda o, i: (f"tasks/{_task(o, i).id}/reassign", {"to": COLLEAGUE}),
            lambda o, i: f"task:{_task(o, i).id}"),
]


def test_every_administrative_route_of_the_api_is_covered() -> None:
    assert sorted(case.endpoint for case in API_CASES) == sorted(op[1] for op in OPERATIONS)


@pytest.fixture
def signed_in(app: Flask, org: Org) -> Iterator[Callable[[str], FlaskClient]]:
    """A client signed in as each user, once (signing out would end the account's sessions
    and change what the snapshot compares)."""
    clients: dict[str, FlaskClient] = {}

    def client_of(username: str) -> FlaskClient:
        if username not in clients:
            client = app.test_client()
            response = client.post("/login", data={"username": username,
                                                   "password": PASSWORD})
            assert response.status_code == 302, username
            clients[username] = client
        return clients[username]

    yield client_of


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.endpoint)
def test_api_administrative_route(case: ApiCase, org: Org,
                                  signed_in: Callable[[str], FlaskClient]) -> None:
    iid = case.prepare(org)
    path, body = case.request(org, iid)
    url = f"/api/v1/instances/{iid}/{path}"
    for who in (COMMISSION, STAFF):
        signed_in(who)
    before = snapshot(org)

    for who in (COMMISSION, STAFF):  # refused whatever they send, reason or not
        for sent in ({**body, "reason": "看看"}, {}):
            response = signed_in(who).post(url, json=sent)
            assert response.status_code == 403, (who, response.get_json())
            assert response.get_json()["code"] == "forbidden"
    admin = signed_in(ADMIN)
    for without in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        response = admin.post(url, json={**body, **without})
        assert response.status_code == 422, (without, response.get_json())
        assert list(response.get_json()["errors"]) == ["reason"], without
    assert snapshot(org) == before  # nothing changed, nothing recorded

    response = admin.post(url, json={**body, "reason": WHY})

    assert response.status_code == 200, response.get_json()
    [entry] = new_entries(org, before)
    assert (entry.actor, entry.action, entry.reason) == (ADMIN, case.action, WHY)
    assert entry.target == case.target(org, iid) and entry.instance_id == iid


def test_the_api_documents_the_reason_and_the_refusals(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for rule, endpoint, *_rest in OPERATIONS:
        path = "/api/v1/instances" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
        operation = spec["paths"][path]["post"]
        assert {"403", "422"} <= set(operation["responses"]), endpoint
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[-1]
        assert "reason" in spec["components"]["schemas"][name]["required"], endpoint


# ----------------------------------------------------------------------------- the CLI


@dataclass(frozen=True)
class CliCase:
    name: str
    #: The act's name in the audit log (a batch: the batch's, then each instance's).
    actions: tuple[str, ...]
    #: The command's arguments (without who and why) and the first audit entry's target
    #: (a regular expression).
    prepare: Callable[[Org], tuple[list[str], str]]


def _lifecycle(action: str, prepare: Callable[[Org], int],
               *extra: str) -> Callable[[Org], tuple[list[str], str]]:
    def arguments(org: Org) -> tuple[list[str], str]:
        iid = prepare(org)
        return [action, str(iid), *extra], f"instance:{iid}"
    return arguments


def _on_task(command: str, *extra: str) -> Callable[[Org], tuple[list[str], str]]:
    def arguments(org: Org) -> tuple[list[str], str]:
        iid = started(org)
        task = str(_task(org, iid).id)
        if command == "reassign":
            return [command, task, *extra], f"task:{task}"
        return [command, str(iid), "--from-task", task, *extra], f"instance:{iid}"
    return arguments


def _batch(org: Org) -> tuple[list[str], str]:
    started(org)
    return ["batch", "suspend", "--key", f"2011-{POST}"], r"batch:\d+"


CLI_CASES = [
    CliCase("suspend", ("suspend",), _lifecycle("suspend", started)),
    CliCase("resume", ("resume",), _lifecycle("resume", suspended)),
    CliCase("terminate", ("terminate",), _lifecycle("terminate", started)),
    CliCase("retry", ("retry",), _lifecycle("retry", failed, "--data", json.dumps({"x": 1}))),
    CliCase("set-variables", ("set_variables",),
            _lifecycle("set-variables", started, "--data", json.dumps({"unit_code": "FGW"}))),
    CliCase("move-token", ("move_token",), _on_task("move-token", "--to", "review")),
    CliCase("migrate", ("migrate",), _lifecycle("migrate", second_version, "--version", "2")),
    CliCase("reassign", ("reassign",), _on_task("reassign", "--to", COLLEAGUE)),
    CliCase("batch", ("batch_suspend", "suspend"), _batch),
    CliCase("clock set", ("clock_set",),
            lambda org: (["clock", "set", "2011-01-05T09:00"], "clock")),
    CliCase("clock advance", ("clock_advance",),
            lambda org: (["clock", "advance", "P1D"], "clock")),
    CliCase("clock system", ("clock_system",), lambda org: (["clock", "system"], "clock")),
    CliCase("accounts unlock", ("account_unlock",),
            lambda org: (["accounts", "unlock", STAFF], f"account:{STAFF}")),
    CliCase("accounts sign-out", ("account_sign_out",),
            lambda org: (["accounts", "sign-out", STAFF], f"account:{STAFF}")),
]


def irpm(database_url: str, *args: str, user: str | None = None) -> Result:
    runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": user})
    return runner.invoke(main, list(args), catch_exceptions=False)


def refused(result: Result) -> str:
    """The one ``error:`` line of a refused command (exit 1)."""
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.name)
def test_cli_administrative_command(case: CliCase, org: Org, database_url: str) -> None:
    args, target = case.prepare(org)
    before = snapshot(org)

    for who in (COMMISSION, STAFF):
        line = refused(irpm(database_url, *args, "--user", who, "--reason", "看看"))
        assert "only administrators may" in line and who in line, line
    assert "no account 'nobody'" in refused(irpm(database_url, *args, "--user", "nobody",
                                                 "--reason", "看看"))
    for without in ([], ["--reason", ""], ["--reason", "  "]):
        line = refused(irpm(database_url, *args, "--user", ADMIN, *without))
        assert "give a reason" in line and "reason: required" in line, line
    assert snapshot(org) == before

    result = irpm(database_url, *args, "--reason", WHY, user=ADMIN)  # IRPM_USER names them

    assert result.exit_code == 0, result.output
    entries = new_entries(org, before)
    assert [e.action for e in entries] == list(case.actions)
    assert {e.actor for e in entries} == {ADMIN}
    assert re.fullmatch(target, entries[0].target) and entries[0].reason == WHY


def test_the_shell_operator_acts_when_no_account_is_named(org: Org, database_url: str) -> None:
    """The documented system actor: ``shell:<login>``, an administrator, audited as such."""
    iid = started(org)
    before = snapshot(org)
    result = irpm(database_url, "--json", "suspend", str(iid), "--reason", WHY)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["instance"]["status"] == "suspended"
    [entry] = new_entries(org, before)
    assert entry.actor == shell_operator().user and entry.actor.startswith("shell:")
    assert [e.actor for e in org.events(iid) if e.type == "suspended"] == [entry.actor]


# ----------------------------------------------------------------------------- one door


WEB = Path(__file__).parents[2] / "web"


def test_no_door_skips_the_audited_services() -> None:
    """The bare lifecycle services record no audit entry: nothing in web/ (pages, API, CLI)
    calls them; and every move of the clock from web/ names who moved it."""
    bare = re.compile(r"\b(suspend|resume|terminate|retry)_instance\(")
    for path in WEB.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not bare.search(source), path
        for call in re.finditer(r"move_clock\(", source):
            assert "audited_by=" in source[call.end():call.end() + 200], path


def test_the_rule_has_one_answer(app: Flask, org: Org) -> None:
    """Administrators (and the shell operator) act; neither the commission nor staff — and
    the console's ``may_act`` answers as the rule does."""
    from flask import g

    from engine.services import admin_rule
    from web.console import may_act

    with org.rt.uow(write=False) as uow:
        actors = {who: organisation.actor_for(uow, who) for who in (ADMIN, COMMISSION, STAFF)}
    answers = {who: admin_rule.may_administer(a) for who, a in actors.items()}
    assert answers == {ADMIN: True, COMMISSION: False, STAFF: False}
    assert admin_rule.may_administer(shell_operator())
    for who, actor in actors.items():
        with app.test_request_context():
            g.actor = actor
            assert may_act() is answers[who], who


# ----------------------------------------------------------------------------- the console


def test_the_console_refuses_the_commission_and_staff_every_act(
        org: Org, signed_in: Callable[[str], FlaskClient]) -> None:
    """The third door, for completeness: each of the console's administrative forms, sent
    whole, answers 403 to the commission (it sees the pages) and to staff (they do not), and
    nothing changes. Its administrators' successes are tests/web/test_console.py's."""
    iid = started(org)
    task = _task(org, iid).id
    forms = {
        **{f"/console/instances/{iid}/{act}": {"reason": "看看"}
           for act in ("suspend", "resume", "terminate", "retry")},
        f"/console/instances/{iid}/variables": {"name": "unit_code", "value": "FGW",
                                                "reason": "看看"},
        f"/console/instances/{iid}/move": {"from_task": str(task), "to": "review",
                                           "reason": "看看"},
        f"/console/instances/{iid}/migrate": {"version": "1", "reason": "看看"},
        f"/console/instances/{iid}/tasks/{task}/reassign": {"to": COLLEAGUE, "reason": "看看"},
        "/console/batches": {"operation": "suspend", "unit": "CZJ", "reason": "看看"},
        "/console/clock/set": {"at": "2011-01-05T09:00", "reason": "看看"},
        "/console/clock/advance": {"days": "1", "hours": "0", "reason": "看看"},
        f"/console/accounts/{STAFF}/unlock": {"reason": "看看"},
        f"/console/accounts/{STAFF}/sign-out": {"reason": "看看"},
    }
    for who in (COMMISSION, STAFF):
        signed_in(who)
    before = snapshot(org)
    for who in (COMMISSION, STAFF):
        for url, form in forms.items():
            assert signed_in(who).post(url, data=form).status_code == 403, (who, url)
    assert snapshot(org) == before
