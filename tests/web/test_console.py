"""The console's instance pages over HTTP: who may see and do what, each operation's success
and its refusal (nothing changed), the list's filters, batches, the heatmap and the audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import AuditEntry, ProcessInstance
from engine.parsing import Source
from engine.services import batches, console_list, deployment, instances, saved_filters
from tests.inbox_org import INBOX_CYCLE

from .conftest import AuthActions, Org


@pytest.fixture
def three(org: Org) -> list[int]:
    return [org.start("CZJ-BGS-02"), org.start("CZJ-YSK-02"), org.start("FGW-BGS-02")]


def _row(org: Org, iid: int) -> tuple[Any, ...]:
    with org.rt.uow(write=False) as uow:
        row = uow.session.get(ProcessInstance, iid)
        assert row is not None
        audit = len(uow.session.scalars(select(AuditEntry.id)).all())
        return row.revision, row.status, row.definition_id, audit


def _deploy(org: Org, xml: str) -> int:
    with org.rt.uow() as uow:
        [found] = deployment.deploy(uow, [Source("inbox_cycle.bpmn", xml.encode())],
                                  deployed_by="tests")
    return found.version


# ------------------------------------------------------------------------ access


@pytest.mark.parametrize("path", ["/console/instances", "/console/audit", "/console/heatmap",
                                  "/console/batches"])
def test_staff_are_refused_and_anonymous_sent_to_sign_in(org: Org, client: FlaskClient,
                                                        auth: AuthActions, path: str) -> None:
    assert client.get(path).status_code == 302
    auth.login("czj-0011")
    assert client.get(path).status_code == 403
    auth.logout()
    auth.login("czj-0004")  # the unit's discipline officer is not the city's commission
    assert client.get(path).status_code == 403


def test_the_commission_sees_but_cannot_act(org: Org, client: FlaskClient, auth: AuthActions,
                                            three: list[int]) -> None:
    auth.login("jiwei")
    page = client.get(f"/console/instances/{three[0]}")
    assert page.status_code == 200 and 'data-action="suspend"' not in page.text
    before = _row(org, three[0])
    assert client.post(f"/console/instances/{three[0]}/suspend",
                       data={"reason": "看看"}).status_code == 403
    assert client.post("/console/batches", data={"operation": "suspend",
                                                  "reason": "x"}).status_code == 403
    assert _row(org, three[0]) == before


# ------------------------------------------------------------------------ list


def test_list_filters_by_unit_and_status(org: Org, client: FlaskClient, auth: AuthActions,
                                         three: list[int]) -> None:
    auth.login("admin")
    page = client.get("/console/instances?unit=CZJ&status=waiting")
    assert page.status_code == 200
    shown = [int(i) for i in re.findall(r'data-instance="(\d+)"', page.text)]
    assert shown == [three[1], three[0]]
    assert 'target="_blank"' in page.text
    assert client.get("/console/instances?step=review").text.count('data-instance=') == 0


def test_a_bad_filter_says_which_field(org: Org, client: FlaskClient,
                                       auth: AuthActions) -> None:
    auth.login("admin")
    page = client.get("/console/instances?status=sleeping&started_from=yesterday")
    assert page.status_code == 400
    assert 'data-error="status"' in page.text and 'data-error="started_from"' in page.text


def test_saved_filters(org: Org, client: FlaskClient, auth: AuthActions) -> None:
    auth.login("admin")
    response = client.post("/console/filters", data={"name": "财政局", "unit": "CZJ",
                                                     "status": "waiting"})
    assert response.status_code == 302
    with org.rt.uow(write=False) as uow:
        [saved] = saved_filters.list_filters(uow, "admin")
    opened = client.get(f"/console/filters/{saved.id}")
    assert "unit=CZJ" in opened.location and "status=waiting" in opened.location
    auth.logout()
    auth.login("jiwei")
    assert client.get(f"/console/filters/{saved.id}").status_code == 404


# ------------------------------------------------------------------------ instance page


def test_instance_page_and_diagram(org: Org, client: FlaskClient, auth: AuthActions,
                                   three: list[int]) -> None:
    auth.login("admin")
    page = client.get(f"/console/instances/{three[0]}")
    assert page.status_code == 200
    assert 'data-variable="unit_code"' in page.text and 'data-element="discovery"' in page.text
    diagram = client.get(f"/console/instances/{three[0]}/diagram").get_json()
    assert diagram["current"] == ["discovery"] and "start" in diagram["done"]
    assert "<bpmn:definitions" in diagram["xml"] or "definitions" in diagram["xml"]
    assert client.get("/console/instances/999999").status_code == 404


def test_suspend_and_resume_through_the_page(org: Org, client: FlaskClient, auth: AuthActions,
                                            three: list[int]) -> None:
    auth.login("admin")
    iid = three[0]
    response = client.post(f"/console/instances/{iid}/suspend", data={"reason": "核查"})
    assert response.status_code == 303
    assert _row(org, iid)[1] == "suspended"
    client.post(f"/console/instances/{iid}/resume", data={"reason": "核查完毕"})
    assert _row(org, iid)[1] == "waiting"
    audit = client.get("/console/audit?action=suspend")
    assert "核查" in audit.text and audit.text.count('data-action="suspend"') == 1


def test_operations_without_a_reason_change_nothing(org: Org, client: FlaskClient,
                                                    auth: AuthActions,
                                                    three: list[int]) -> None:
    auth.login("admin")
    iid = three[0]
    before = _row(org, iid)
    for path, data in [("suspend", {"reason": ""}), ("terminate", {}),
                       ("variables", {"name": "year", "value": "1", "reason": ""}),
                       ("variables", {"name": "unit_code", "value": "7", "reason": "r"}),
                       ("variables", {"name": "1bad", "value": "1", "reason": "r"}),
                       ("move", {"from_task": "not-a-uuid", "to": "review", "reason": "r"}),
                       ("migrate", {"version": "9", "reason": "r"}),
                       ("resume", {"reason": "not suspended"})]:
        page = client.post(f"/console/instances/{iid}/{path}", data=data,
                           follow_redirects=True)
        assert "alert-danger" in page.text, path
    assert _row(org, iid) == before


def test_variables_move_reassign_and_migrate(org: Org, client: FlaskClient, auth: AuthActions,
                                             three: list[int]) -> None:
    auth.login("admin")
    iid = three[0]
    client.post(f"/console/instances/{iid}/variables",
                data={"name": "unit_code", "value": "FGW", "reason": "录错单位"})
    assert client.get("/console/instances?unit=FGW").text.count(f'data-instance="{iid}"') == 1
    task = org.open_task(iid)
    client.post(f"/console/instances/{iid}/tasks/{task.id}/reassign",
                data={"to": "czj-0012", "reason": "出差"})
    assert org.task(task.id).assignee == "czj-0012"
    client.post(f"/console/instances/{iid}/move",
                data={"from_task": str(task.id), "to": "review", "reason": "线下已查"})
    assert org.open_task(iid).element_id == "review"
    source = INBOX_CYCLE.read_text(encoding="utf-8")
    version = _deploy(org, source.replace("严格审核把关", "严格审核把关(修订)"))
    page = client.get(f"/console/instances/{iid}")
    assert f'data-version="{version}" data-safe="yes"' in page.text
    client.post(f"/console/instances/{iid}/migrate", data={"version": version,
                                                           "reason": "新版本"})
    with org.rt.uow(write=False) as uow:
        assert instances.get_instance(uow, iid).definition_id == \
            deployment.find_definition(uow, "inbox_cycle", version).id
    actions = [m for m in re.findall(r'data-action="([a-z_]+)" data-actor',
                                     client.get("/console/audit").text)]
    assert actions == ["migrate", "move_token", "reassign", "set_variables"]


# ------------------------------------------------------------------------ batches


def test_batch_from_a_filter(org: Org, client: FlaskClient, auth: AuthActions,
                             three: list[int]) -> None:
    auth.login("admin")
    response = client.post("/console/batches", data={"unit": "CZJ", "operation": "suspend",
                                                      "reason": "年度核查"})
    assert response.status_code == 303
    batch_url = response.location
    page = client.get(batch_url)
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    done = client.post(f"{batch_url}/step").get_json()
    assert (done["succeeded"], done["failed"], done["status"]) == (2, 0, "done")
    assert client.get(f"{batch_url}/progress").get_json() == done
    assert client.post(f"{batch_url}/step").get_json() == done  # nothing runs twice
    assert [_row(org, i)[1] for i in three] == ["suspended", "suspended", "waiting"]
    again = client.post("/console/batches", data={"unit": "CZJ", "operation": "suspend",
                                                  "reason": "再来"})
    client.post(f"{again.location}/step")
    report = client.get(again.location)
    failed = re.findall(r'<tr data-instance="(\d+)"><td>.*?</td><td class="small">([^<]*)',
                        report.text)
    assert [int(i) for i, _m in failed] == three[:2]
    assert all("suspended" in message for _i, message in failed)


def test_invalid_batches_are_refused(org: Org, client: FlaskClient, auth: AuthActions,
                                     three: list[int]) -> None:
    auth.login("admin")
    for data in [{"operation": "explode", "reason": "x"},
                 {"operation": "suspend", "reason": ""},
                 {"operation": "migrate", "reason": "x", "target_version": "2"},
                 {"unit": "NOPE", "operation": "suspend", "reason": "x"}]:
        page = client.post("/console/batches", data=data, follow_redirects=True)
        assert "alert-danger" in page.text, data
    with org.rt.uow(write=False) as uow:
        assert batches.list_batches(uow) == []


# ------------------------------------------------------------------------ heatmap, audit


def test_heatmap(org: Org, client: FlaskClient, auth: AuthActions, three: list[int]) -> None:
    auth.login("jiwei")
    org.complete(org.open_task(three[0]).id, "admin")
    with org.rt.uow(write=False) as uow:
        definition = deployment.find_definition(uow, "inbox_cycle", 1)
    page = client.get(f"/console/heatmap?definition={definition.id}")
    assert page.status_code == 200 and 'data-mode="heatmap"' in page.text
    assert '"discovery": {"failed": 0, "passed": 1, "waiting": 2}' in page.text  # data-counts
    assert "xml" in client.get(f"/console/heatmap/{definition.id}/diagram").get_json()
    data = client.get(f"/console/heatmap/{definition.id}/data").get_json()
    assert data["counts"]["discovery"] == {"waiting": 2, "passed": 1, "failed": 0}
    assert data["counts"]["review"]["waiting"] == 1


def test_audit_filters(org: Org, client: FlaskClient, auth: AuthActions,
                       three: list[int]) -> None:
    auth.login("admin")
    client.post(f"/console/instances/{three[0]}/suspend", data={"reason": "甲"})
    client.post(f"/console/instances/{three[1]}/suspend", data={"reason": "乙"})
    page = client.get(f"/console/audit?instance={three[1]}")
    assert "乙" in page.text and "甲" not in page.text
    assert client.get("/console/audit?instance=abc").status_code == 400


def test_cli_reindexes_the_variables(org: Org, database_url: str, three: list[int]) -> None:
    from click.testing import CliRunner
    from sqlalchemy import delete

    from engine.models import InstanceVariable
    from web.cli import main

    with org.rt.uow() as uow:
        uow.session.execute(delete(InstanceVariable))
        uow.commit()
    result = CliRunner(env={"IRPM_DATABASE_URL": database_url}).invoke(
        main, ["--json", "console", "reindex-variables", "--batch", "2"],
        catch_exceptions=False)
    assert result.exit_code == 0 and '"instances": 3' in result.stdout
    with org.rt.uow(write=False) as uow:
        page = console_list.list_console_instances(uow, console_list.InstanceQuery(unit="CZJ"))
    assert sorted(r.id for r in page.rows) == sorted(three[:2])
