"""Separation of duties (回避) through every door: the REST API, the task page, the console
and the command line all go through the engine's services, which refuse a post's holder the
steps that judge the post (bpmn/post_cycle.bpmn's ``excludes="lane:post_holder"``); a step
whose lane that empties goes one level up the responsibility chain
(engine/programme/escalation.py).

Issue 11: "the API lets czj-0011 complete the 互相查 of his own post".
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import Runtime
from engine.services import instances, timers

from .conftest import T0, AuthActions, Org
from .publicity_cycle import complete, deploy_programme, open_task, risk, start_post_cycle
from .test_cli import HOLDER as CLI_HOLDER
from .test_cli import RISKS, Irpm, deployed_cli, deployed_cli_world, irpm  # noqa: F401  (fixtures)

CLERK, COLLEAGUE, HEAD, DEPUTY = "czj-0011", "czj-0012", "czj-0009", "czj-0002"
PRINCIPAL, OFFICER = "czj-0001", "czj-0004"
FGW_PRINCIPAL = "fgw-0001"  # head and deputy in charge of his own leadership team
NONE = {"risks": []}


@pytest.fixture
def rt(app: Flask, org: Org) -> Runtime:
    """The app's runtime — the programme's, with its escalation — and bpmn/ deployed."""
    runtime: Runtime = app.extensions["irpm"]
    deploy_programme(runtime)
    return runtime


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def claimable(client: FlaskClient) -> list[str]:
    response = client.get("/api/v1/tasks?view=claimable")
    assert response.status_code == 200
    return [row["id"] for row in response.get_json()["items"]]


def task_json(client: FlaskClient, task_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def history(rt: Runtime, instance_id: int) -> list[str]:
    with rt.uow(write=False) as uow:
        return [e.type for e in instances.instance_events(uow, instance_id)]


def routed(rt: Runtime, instance_id: int, element: str) -> dict[str, Any]:
    """The open task's candidates and exclusions, and what its creation recorded."""
    task_id = open_task(rt, instance_id, element)
    with rt.uow(write=False) as uow:
        from engine.services import tasks
        task = tasks.get_task(uow, task_id)
        [created] = [e.data for e in instances.instance_events(uow, instance_id)
                     if e.type == "task_created" and e.task_id == task_id]
        return {"id": task_id, "users": task.candidate_users, "groups": task.candidate_groups,
                "excluded": task.excluded_groups, "created": created}


def to_review(rt: Runtime, post: str, holder: str, peer: str, leader: str) -> int:
    """The post's cycle up to 严格审核把关 (a high risk: level 1)."""
    iid = start_post_cycle(rt, post)
    complete(rt, iid, "self_identified", holder, {"risks": [risk(f"{post}:把关不严", "high")]})
    complete(rt, iid, "peer_checked", peer, NONE)
    complete(rt, iid, "leader_pointed", leader, NONE)
    complete(rt, iid, "organization_reviewed", OFFICER if post.startswith("CZJ") else "fgw-0004",
             NONE)
    return iid


# ----------------------------------------------------------------------- the API (互相查)


def test_the_api_refuses_the_holder_the_peer_check_of_his_own_post(
        client: FlaskClient, auth: AuthActions, rt: Runtime) -> None:
    iid = start_post_cycle(rt, "CZJ-BGS-02")  # 科员（文秘）, held by czj-0011
    complete(rt, iid, "self_identified", CLERK, {"risks": [risk("文稿审核不严")]})
    peer = routed(rt, iid, "peer_checked")
    assert (peer["groups"], peer["excluded"]) == (["dept:CZJ-BGS"], ["post:CZJ-BGS-02"])
    task = peer["id"]
    before = history(rt, iid)

    auth.login(CLERK)
    assert str(task) not in claimable(client)
    for action, body in (("claim", None), ("complete", {"data": NONE})):
        response = client.post(f"/api/v1/tasks/{task}/{action}", json=body)
        assert response.status_code == 403, action
        message = response.get_json()["message"]
        assert "回避" in message and "czj-0011 is in post:CZJ-BGS-02" in message, message
        assert 'excludes="lane:post_holder"' in message
    # Nothing changed.
    as_user(auth, COLLEAGUE)
    assert task_json(client, task)["assignee"] is None and task_json(client, task)["state"] == \
        "open"
    assert history(rt, iid) == before

    # A colleague takes it — and cannot hand it to the holder either.
    assert str(task) in claimable(client)
    assert client.post(f"/api/v1/tasks/{task}/claim").status_code == 200
    response = client.post(f"/api/v1/tasks/{task}/delegate",
                           json={"to": CLERK, "reason": "他最熟悉"})
    assert response.status_code == 403 and "回避" in response.get_json()["message"]
    assert task_json(client, task)["assignee"] == COLLEAGUE
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": NONE})
    assert response.status_code == 200, response.get_json()


def test_the_console_cannot_reassign_the_check_to_the_holder(
        client: FlaskClient, auth: AuthActions, rt: Runtime) -> None:
    iid = start_post_cycle(rt, "CZJ-BGS-02")
    complete(rt, iid, "self_identified", CLERK, {"risks": [risk("文稿审核不严")]})
    task = open_task(rt, iid, "peer_checked")
    before = history(rt, iid)
    auth.login("admin")
    page = client.post(f"/console/instances/{iid}/tasks/{task}/reassign",
                       data={"to": CLERK, "reason": "人手不足"}, follow_redirects=True)
    assert "回避" in page.get_data(as_text=True)
    assert history(rt, iid) == before
    assert task_json(client, task)["assignee"] is None
    page = client.post(f"/console/instances/{iid}/tasks/{task}/reassign",
                       data={"to": COLLEAGUE, "reason": "人手不足"}, follow_redirects=True)
    assert task_json(client, task)["assignee"] == COLLEAGUE


# ------------------------------------------------------------- up the responsibility chain


def test_a_heads_own_leader_point_goes_to_the_deputy(
        client: FlaskClient, auth: AuthActions, rt: Runtime) -> None:
    iid = start_post_cycle(rt, "CZJ-BGS-01")  # 办公室主任, held by the head czj-0009
    complete(rt, iid, "self_identified", HEAD, {"risks": [risk("公文把关不严")]})
    peer = routed(rt, iid, "peer_checked")  # colleagues: the rest of the office
    assert peer["groups"] == ["dept:CZJ-BGS"] and "escalated" not in peer["created"]
    complete(rt, iid, "peer_checked", CLERK, NONE)
    point = routed(rt, iid, "leader_pointed")
    assert point["groups"] == ["deputy_in_charge:CZJ-BGS"]
    assert point["created"]["escalated"] == [
        {"from": {"users": [], "groups": ["department_head:CZJ-BGS"]},
         "to": {"users": [], "groups": ["deputy_in_charge:CZJ-BGS"]}}]

    auth.login(HEAD)
    response = client.post(f"/api/v1/tasks/{point['id']}/complete", json={"data": NONE})
    assert response.status_code == 403 and "回避" in response.get_json()["message"]
    as_user(auth, DEPUTY)
    assert str(point["id"]) in claimable(client)
    page = client.get(f"/tasks/{point['id']}").get_data(as_text=True)
    assert 'data-role="escalation"' in page
    assert "department_head:CZJ-BGS" in page and "deputy_in_charge:CZJ-BGS" in page
    assert client.post(f"/api/v1/tasks/{point['id']}/complete",
                       json={"data": NONE}).status_code == 200


def test_a_deputys_own_review_goes_to_the_principal(rt: Runtime) -> None:
    iid = to_review(rt, "CZJ-LDBZ-02", DEPUTY, PRINCIPAL, PRINCIPAL)  # 常务副局长
    review = routed(rt, iid, "review")
    assert review["groups"] == ["principal:CZJ"]
    assert review["created"]["excluded"]["logins"] == [DEPUTY]
    complete(rt, iid, "review", PRINCIPAL, {"approved": True})


def test_a_principals_own_talk_goes_to_the_city_commission(rt: Runtime) -> None:
    iid = to_review(rt, "CZJ-LDBZ-01", PRINCIPAL, DEPUTY, DEPUTY)  # 局长
    assert routed(rt, iid, "review")["groups"] == ["deputy_in_charge:CZJ-LDBZ"]
    complete(rt, iid, "review", DEPUTY, {"approved": True})
    with rt.uow() as uow:  # publicity (7 days) ends: the control steps begin
        timers.advance_to(uow, T0 + timedelta(days=8))
    talk = routed(rt, iid, "integrity_talk")
    assert talk["groups"] == ["discipline_commission"]
    assert talk["created"]["escalated"][0]["from"]["groups"] == ["principal:CZJ"]
    assert routed(rt, iid, "prevention")["groups"] == ["discipline_commission"]
    assert routed(rt, iid, "monitoring")["groups"] == ["deputy_in_charge:CZJ-LDBZ"]
    complete(rt, iid, "integrity_talk", "jiwei", {"talk_summary": "严守纪律"})


def test_the_chain_goes_on_while_the_next_level_is_the_same_person(rt: Runtime) -> None:
    """发展和改革委员会's principal heads his leadership team and is its deputy in charge too:
    领导点 of his own post goes past himself twice, to the city's commission."""
    iid = start_post_cycle(rt, "FGW-LDBZ-01")
    complete(rt, iid, "self_identified", FGW_PRINCIPAL, {"risks": [risk("决策程序不规范")]})
    complete(rt, iid, "peer_checked", "fgw-0004", NONE)
    point = routed(rt, iid, "leader_pointed")
    assert point["groups"] == ["discipline_commission"]
    assert [s["to"]["groups"] for s in point["created"]["escalated"]] == [
        ["deputy_in_charge:FGW-LDBZ"], ["principal:FGW"], ["discipline_commission"]]


# -------------------------------------------------------------------- the command line


def test_the_command_line_refuses_the_holder_too(deployed_cli: Irpm) -> None:  # noqa: F811
    instance_id = deployed_cli.start_post()["instance"]["id"]
    task_id = deployed_cli.open_task(*CLI_HOLDER)["id"]
    deployed_cli("complete", task_id, *CLI_HOLDER, "--data", json.dumps(RISKS))
    [peer] = [t for t in deployed_cli.json("tasks", "--admin", "--view", "all")
              if t["state"] == "open"]
    assert peer["element_id"] == "peer_checked"
    error = deployed_cli.fails("complete", peer["id"], *CLI_HOLDER, "--group", "dept:fgw-tzc",
                               "--data", json.dumps({"risks": []}))
    assert "回避" in error and "chenjing is in post:fgw-tzc-tj" in error
    assert deployed_cli.json("events", instance_id)[-1]["type"] == "task_created"
