"""Definitions and instances through the API (web/api/definitions, web/api/instances): who
lists and reads which instances, who may start and steer them, filters and paging."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import AuthActions, Org

HOLDER, COLLEAGUE, HEAD, OTHER_UNIT = "czj-0011", "czj-0012", "czj-0009", "fgw-0011"
HOLDER_POST = "CZJ-BGS-02"
START = {"process_id": "inbox_cycle", "business_key": "2011-CZJ-BGS-03",
         "data": {"post_code": "CZJ-BGS-03", "department_code": "CZJ-BGS", "unit_code": "CZJ"}}


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def test_definitions(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    assert client.get("/api/v1/definitions").status_code == 401
    auth.login(HOLDER)
    assert client.get("/api/v1/definitions").get_json() == [
        {"process_id": "inbox_cycle", "name": "岗位风险查找(测试)", "latest_version": 1,
         "versions": 1}]
    org.start(HOLDER_POST)
    body = client.get("/api/v1/definitions/inbox_cycle").get_json()
    [version] = body["versions"]
    assert (version["version"], version["instances"], version["deployed_by"]) == (
        1, 1, "tests")
    response = client.get("/api/v1/definitions/nothing")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_start_is_for_administrators_and_the_commission(client: FlaskClient,
                                                        auth: AuthActions, org: Org) -> None:
    assert client.post("/api/v1/instances", json=START).status_code == 401
    auth.login(HOLDER)
    response = client.post("/api/v1/instances", json=START)
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    for who in ("admin", "jiwei"):
        as_user(auth, who)
        response = client.post("/api/v1/instances", json={**START, "business_key": who})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["status"] == "waiting" and body["started_by"] == who
    response = client.post("/api/v1/instances", json={**START, "process_id": "nothing"})
    assert response.status_code == 404
    response = client.post("/api/v1/instances", json={"business_key": "x"})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == [
        "process_id"]
    response = client.post("/api/v1/instances", json={**START, "data": {"bad key": 1}})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data.bad key": ["invalid field name"]}


def test_lists_all_for_overseers_and_mine_for_others(client: FlaskClient, auth: AuthActions,
                                                     org: Org) -> None:
    mine = org.start(HOLDER_POST)
    other = org.start("CZJ-BGS-03")
    org.complete(org.open_task(mine).id, HOLDER)
    assert client.get("/api/v1/instances").status_code == 401
    auth.login("admin")
    body = client.get("/api/v1/instances").get_json()
    assert [i["id"] for i in body["items"]] == [other, mine] and body["total"] == 2
    body = client.get("/api/v1/instances?page_size=1&page=2").get_json()
    assert [i["id"] for i in body["items"]] == [mine] and body["total"] == 2
    assert client.get(f"/api/v1/instances?business_key=2011-{HOLDER_POST}").get_json()[
        "total"] == 1
    assert client.get("/api/v1/instances?status=completed").get_json()["total"] == 0
    response = client.get("/api/v1/instances?status=sleeping")
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["status"]
    as_user(auth, HOLDER)  # took part in one
    body = client.get("/api/v1/instances").get_json()
    assert [i["id"] for i in body["items"]] == [mine] and body["total"] == 1
    assert client.get("/api/v1/instances?status=completed").get_json()["total"] == 0
    as_user(auth, OTHER_UNIT)
    assert client.get("/api/v1/instances").get_json()["total"] == 0


def test_one_instance_and_its_events(client: FlaskClient, auth: AuthActions,
                                     org: Org) -> None:
    instance = org.start(HOLDER_POST)
    assert client.get(f"/api/v1/instances/{instance}").status_code == 401
    for who in (HOLDER, HEAD, "jiwei", "admin"):  # a candidate, a leader, overseers
        as_user(auth, who)
        body = client.get(f"/api/v1/instances/{instance}").get_json()
        assert body["id"] == instance and body["process_id"] == "inbox_cycle", who
        events = client.get(f"/api/v1/instances/{instance}/events").get_json()
        assert [e["type"] for e in events][:2] == ["started", "task_created"], who
    for who in (COLLEAGUE, OTHER_UNIT):
        as_user(auth, who)
        assert client.get(f"/api/v1/instances/{instance}").status_code == 403
        assert client.get(f"/api/v1/instances/{instance}/events").status_code == 403
    assert client.get("/api/v1/instances/999999").status_code == 404
    assert client.get("/api/v1/instances/999999/events").status_code == 404


def test_suspend_resume_terminate(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    """Administrators steer, with a reason; the commission and staff are refused whatever
    they send (every administrative route: tests/web/test_admin_audit_paths.py)."""
    instance = org.start(HOLDER_POST)
    url = f"/api/v1/instances/{instance}"
    for action in ("suspend", "resume", "terminate", "retry"):
        assert client.post(f"{url}/{action}").status_code == 401
    for who in (HOLDER, "jiwei"):
        as_user(auth, who)
        for action in ("suspend", "resume", "terminate", "retry"):
            response = client.post(f"{url}/{action}", json={"reason": "看看"})
            assert response.status_code == 403, (who, action)
            assert client.post(f"{url}/{action}").status_code == 403, (who, action)
    as_user(auth, "admin")
    response = client.post(f"{url}/suspend", json={"reason": "核查"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    assert response.get_json()["suspended_from"] == "waiting"
    response = client.post(f"{url}/suspend", json={"reason": "核查"})
    assert response.status_code == 409 and response.get_json()["code"] == "invalid_state"
    response = client.post(f"{url}/resume")
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["reason"]
    assert client.post(f"{url}/resume", json={"reason": "核查完毕"}).get_json()[
        "status"] == "waiting"
    response = client.post(f"{url}/retry", json={"data": {}, "reason": "重试"})
    assert response.status_code == 409  # only a failed instance is retried
    response = client.post(f"{url}/terminate", json={"reason": "x" * 501})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["reason"]
    response = client.post(f"{url}/terminate", json={"reason": "岗位撤销"})
    assert response.get_json()["status"] == "terminated"
    response = client.post("/api/v1/instances/999999/suspend", json={"reason": "核查"})
    assert response.status_code == 404
