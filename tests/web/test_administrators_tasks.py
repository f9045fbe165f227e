"""An administrators' task (a user task with no lane and no candidates, issue 12 point 3) on
every way in — the pages, the REST API and the command line — under the engine's one rule:
only administrators see it in their inbox and may claim and complete it; it is shown as the
administrators' (管理员). The model: tests/fixtures/laneless.bpmn, in the organisation of
tests/inbox_org.py (``prepare`` is in the lane ``staff``, which every official's account is
in; ``sign_off`` is in no lane)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.services import deployment, instances
from engine.services.design_lint import validation
from tests.conftest import FIXTURES

from .conftest import AuthActions, Org
from .test_cli import Irpm

#: An official (staff), the city's discipline commission (sees every task, takes none).
STAFF, COMMISSION = "czj-0011", "jiwei"


def _ids(client: FlaskClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return re.findall(r'<tr data-task="([0-9a-f-]+)"', response.get_data(as_text=True))


def _as(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


@pytest.fixture
def sign_off(org: Org) -> uuid.UUID:
    """The open ``sign_off`` task of a new ``laneless`` instance (``prepare`` done by staff)."""
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "laneless.bpmn"]), deployed_by="tests")
    with org.rt.uow() as uow:
        iid = instances.start_instance(uow, "laneless", "2011-签发", {},
                                       actor=organisation.actor_for(uow, "admin")).id
    org.complete(org.open_task(iid).id, STAFF)  # staff's, through the lane
    task = org.open_task(iid)
    assert (task.element_id, task.administrators_only) == ("sign_off", True)
    return task.id


# ----------------------------------------------------------------------------- pages


def test_only_administrators_find_it_in_their_inbox(client: FlaskClient, auth: AuthActions,
                                                    org: Org, sign_off: uuid.UUID) -> None:
    for who in (STAFF, COMMISSION):
        _as(auth, who)
        for view in ("claimable", "mine"):
            assert str(sign_off) not in _ids(client, f"/inbox/{view}"), (who, view)
    _as(auth, "admin")
    assert _ids(client, "/inbox/claimable") == [str(sign_off)]
    page = client.get("/inbox/claimable").get_data(as_text=True)
    row = page[page.index(f'<tr data-task="{sign_off}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'data-role="administrators"[^>]*>管理员<', row)


def test_the_task_page_refuses_others_and_an_administrator_completes_it(
        client: FlaskClient, auth: AuthActions, org: Org, sign_off: uuid.UUID) -> None:
    auth.login(STAFF)
    assert client.get(f"/tasks/{sign_off}").status_code == 403
    assert client.post(f"/tasks/{sign_off}", data={"action": "submit"}).status_code == 403
    client.post(f"/inbox/tasks/{sign_off}/claim")
    assert org.task(sign_off).assignee is None
    assert org.task(sign_off).state == "open"

    _as(auth, COMMISSION)  # sees every task, takes none: told who does this one
    page = client.get(f"/tasks/{sign_off}").get_data(as_text=True)
    assert 'data-role="read-only"' in page and "由管理员办理" in page

    _as(auth, "admin")
    page = client.get(f"/tasks/{sign_off}").get_data(as_text=True)
    assert re.search(r'data-role="administrators"[^>]*>管理员<', page)
    assert 'id="task-form"' in page
    response = client.post(f"/tasks/{sign_off}", data={"action": "submit"})
    assert response.status_code == 302
    done = org.task(sign_off)
    assert (done.state, done.completed_by) == ("completed", "admin")


# ------------------------------------------------------------------------------- API


def test_the_api_refuses_others_and_lets_an_administrator_act(
        client: FlaskClient, auth: AuthActions, org: Org, sign_off: uuid.UUID) -> None:
    auth.login(STAFF)
    for view in ("claimable", "open"):
        items = client.get(f"/api/v1/tasks?view={view}").get_json()["items"]
        assert str(sign_off) not in [row["id"] for row in items]
    assert client.get(f"/api/v1/tasks/{sign_off}").status_code == 403
    assert client.post(f"/api/v1/tasks/{sign_off}/claim").status_code == 403
    assert client.post(f"/api/v1/tasks/{sign_off}/complete", json={"data": {}}
                       ).status_code == 403
    assert org.task(sign_off).assignee is None

    _as(auth, "admin")
    [row] = client.get("/api/v1/tasks?view=claimable").get_json()["items"]
    assert (row["id"], row["administrators_only"]) == (str(sign_off), True)
    one = client.get(f"/api/v1/tasks/{sign_off}").get_json()
    assert (one["candidate_users"], one["candidate_groups"], one["administrators_only"]) == (
        [], [], True)
    claimed = client.post(f"/api/v1/tasks/{sign_off}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "admin"
    response = client.post(f"/api/v1/tasks/{sign_off}/complete", json={"data": {}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "completed"


# ------------------------------------------------------------------------------- CLI


def test_the_command_line_keeps_the_same_rule(database_url: str, org: Org,
                                              sign_off: uuid.UUID) -> None:
    irpm = Irpm(database_url)
    staff = ("--user", STAFF, "--group", "staff")
    assert str(sign_off) not in [t["id"] for t in irpm.json("tasks", *staff, "--view", "open")]
    error = irpm.fails("claim", sign_off, *staff)
    assert "administrators' task" in error and "only an administrator" in error
    assert "administrators' task" in irpm.fails("complete", sign_off, *staff, "--data", "{}")
    assert org.task(sign_off).assignee is None

    [listed] = irpm.json("tasks", "--admin", "--view", "claimable")
    assert (listed["id"], listed["administrators_only"]) == (str(sign_off), True)
    table = irpm("tasks", "--admin", "--view", "claimable").stdout
    assert "(administrators)" in table.splitlines()[1]
    done = json.loads(irpm("--json", "complete", sign_off, "--user", "admin", "--admin",
                           "--data", "{}").stdout)
    assert done["instance"]["status"] == "completed"
    assert org.task(sign_off).completed_by == "admin"


def test_irpm_deploy_takes_it_with_a_warning_the_designer_refuses_it(
        database_url: str, org: Org, tmp_path: Path) -> None:
    """Deploy runs no lint (it deploys what SpiffWorkflow runs); it warns of each such task,
    naming it and the fix. The designer's validation refuses the same file."""
    result = Irpm(database_url)("deploy", FIXTURES / "laneless.bpmn", "--by", "tests")
    assert "laneless" in result.stdout
    assert result.stderr.splitlines() == [
        "warning: laneless.bpmn: user task 'Sign off' is in no lane and names no candidate "
        "users or groups, so only administrators could take it: move it into the lane of the "
        "role that does it (deployed: at run time only administrators may take it)"]
    with org.rt.uow(write=False) as uow:
        problems, _ = validation.validate_sources(uow, read_sources([FIXTURES / "laneless.bpmn"]))
    assert [(p.rule, p.element) for p in problems] == [("user_task_lane", "sign_off")]
    lanes = tmp_path / "lanes.bpmn"  # the same with sign_off in the lane: no warning
    lanes.write_text((FIXTURES / "laneless.bpmn").read_text(encoding="utf-8").replace(
        "<bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>prepare</bpmn:flowNodeRef><bpmn:flowNodeRef>sign_off"
        "</bpmn:flowNodeRef>"), encoding="utf-8")
    assert Irpm(database_url)("deploy", lanes, "--by", "tests").stderr == ""
