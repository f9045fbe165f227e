"""The tasks API (web/api/tasks): inbox views with filters and paging, one task, claim /
unclaim / complete / delegate — each with its refusals (401 anonymous, 403 someone who may
not see or take the task, 404 unknown, 409 conflicts, 422 invalid fields by name)."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import TaskDraft
from engine.programme.services import organisation
from engine.services import drafts as drafts_service

from .conftest import AuthActions, Org

HOLDER, COLLEAGUE, OTHER_UNIT = "czj-0011", "czj-0012", "fgw-0011"
HEAD, PRINCIPAL, OFFICER = "czj-0009", "czj-0001", "czj-0004"
HOLDER_POST = "CZJ-BGS-02"


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def ids(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/tasks{query}")
    assert response.status_code == 200, response.get_json()
    return [row["id"] for row in response.get_json()["items"]]


@pytest.fixture
def task(org: Org) -> uuid.UUID:
    return org.open_task(org.start(HOLDER_POST)).id


def test_views_list_the_callers_tasks(client: FlaskClient, auth: AuthActions, org: Org,
                                      task: uuid.UUID) -> None:
    auth.login(HOLDER)
    body = client.get("/api/v1/tasks?view=claimable").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["capped"] is False
    [row] = body["items"]
    assert row["id"] == str(task) and row["name"] == "查找廉政风险"
    assert (row["post_code"], row["unit_name"], row["process_id"]) == (
        HOLDER_POST, "财政局", "inbox_cycle")
    assert row["due_at"].startswith("2011-01-14") and row["card"] is None
    assert ids(client) == []  # view=mine by default
    assert ids(client, "?view=open") == [str(task)]
    for other in (COLLEAGUE, OTHER_UNIT, HEAD):
        as_user(auth, other)
        assert ids(client, "?view=open") == [], other


def test_filters_search_sort_and_paging(client: FlaskClient, auth: AuthActions,
                                        org: Org) -> None:
    first = org.open_task(org.start(HOLDER_POST, "2011-a")).id
    second = org.open_task(org.start(HOLDER_POST, "2011-b")).id
    auth.login(HOLDER)
    assert set(ids(client, "?view=claimable&unit=CZJ&process=inbox_cycle&q=风险")) == {
        str(first), str(second)}
    assert ids(client, "?view=claimable&unit=FGW") == []
    assert ids(client, "?view=claimable&q=nothing-like-this") == []
    assert ids(client, "?view=claimable&due=overdue") == []
    by_key = ids(client, "?view=claimable&sort=business_key&dir=desc")
    assert by_key == [str(second), str(first)]
    page = client.get("/api/v1/tasks?view=claimable&sort=business_key&page=2&page_size=1")
    assert page.get_json()["items"][0]["id"] == str(second)
    assert page.get_json()["total"] == 2


@pytest.mark.parametrize("query,field", [
    ("view=everything", "view"), ("due=soon", "due"), ("sort=colour", "sort"),
    ("page=0", "page"), ("page_size=1000", "page_size"), ("dir=up", "dir")])
def test_bad_filters_name_the_field(client: FlaskClient, auth: AuthActions, org: Org,
                                    query: str, field: str) -> None:
    auth.login(HOLDER)
    response = client.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed" and list(body["errors"]) == [field]


def test_all_tasks_only_for_administrators(client: FlaskClient, auth: AuthActions, org: Org,
                                           task: uuid.UUID) -> None:
    auth.login(HOLDER)
    response = client.get("/api/v1/tasks?view=all")
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    as_user(auth, "admin")
    assert ids(client, "?view=all") == [str(task)]


def test_one_task_for_those_who_may_see_it(client: FlaskClient, auth: AuthActions, org: Org,
                                           task: uuid.UUID) -> None:
    assert client.get(f"/api/v1/tasks/{task}").status_code == 401
    auth.login(HOLDER)
    body = client.get(f"/api/v1/tasks/{task}").get_json()
    assert body["id"] == str(task) and body["candidate_groups"] == [f"post:{HOLDER_POST}"]
    for leader in (HEAD, PRINCIPAL, OFFICER, "jiwei", "admin"):  # their role covers it
        as_user(auth, leader)
        assert client.get(f"/api/v1/tasks/{task}").status_code == 200, leader
    for other in (COLLEAGUE, OTHER_UNIT):
        as_user(auth, other)
        response = client.get(f"/api/v1/tasks/{task}")
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get(f"/api/v1/tasks/{uuid.uuid4()}").status_code == 404
    assert client.get("/api/v1/tasks/not-a-uuid").status_code == 404


def test_claim_and_unclaim(client: FlaskClient, auth: AuthActions, org: Org,
                           task: uuid.UUID) -> None:
    assert client.post(f"/api/v1/tasks/{task}/claim").status_code == 401
    auth.login(COLLEAGUE)
    response = client.post(f"/api/v1/tasks/{task}/claim")
    assert response.status_code == 403 and org.task(task).assignee is None
    assert client.post(f"/api/v1/tasks/{uuid.uuid4()}/claim").status_code == 404

    as_user(auth, HOLDER)
    response = client.post(f"/api/v1/tasks/{task}/claim")
    assert response.status_code == 200 and response.get_json()["assignee"] == HOLDER
    assert ids(client) == [str(task)]
    as_user(auth, "admin")
    response = client.post(f"/api/v1/tasks/{task}/claim")
    assert response.status_code == 409 and response.get_json()["code"] == "task_already_claimed"

    as_user(auth, HEAD)  # may see it, may not release someone else's claim
    assert client.post(f"/api/v1/tasks/{task}/unclaim").status_code == 403
    as_user(auth, HOLDER)
    response = client.post(f"/api/v1/tasks/{task}/unclaim")
    assert response.status_code == 200 and response.get_json()["assignee"] is None
    response = client.post(f"/api/v1/tasks/{task}/unclaim")
    assert response.status_code == 409 and response.get_json()["code"] == "conflict"


def test_complete_moves_the_process_on(client: FlaskClient, auth: AuthActions, org: Org,
                                       task: uuid.UUID) -> None:
    assert client.post(f"/api/v1/tasks/{task}/complete", json={}).status_code == 401
    auth.login(COLLEAGUE)
    assert client.post(f"/api/v1/tasks/{task}/complete", json={}).status_code == 403
    as_user(auth, HOLDER)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"found": 2}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "waiting"
    assert org.task(task).completed_by == HOLDER
    assert ids(client, "?view=done") == [str(task)]
    response = client.post(f"/api/v1/tasks/{task}/complete", json={})
    assert response.status_code == 409
    assert response.get_json()["code"] == "task_already_completed"
    as_user(auth, HEAD)  # the review is the head's now
    [review] = ids(client, "?view=claimable")
    assert client.post(f"/api/v1/tasks/{review}/complete").status_code == 200


def test_invalid_completion_data_names_the_field(client: FlaskClient, auth: AuthActions,
                                                 org: Org, task: uuid.UUID) -> None:
    auth.login(HOLDER)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"1st": "x"}})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data.1st": ["invalid field name"]}
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": [1, 2]})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["data"]
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"dat": {}})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["dat"]
    response = client.post(f"/api/v1/tasks/{task}/complete", data="{not json",
                           content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"
    assert org.task(task).state == "open"


def test_completing_through_the_api_drops_the_tasks_drafts(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    """The API completes a task as the task page does (``tasks.complete_task``): every
    draft of the task goes with the completion — none while a completion is refused."""
    def drafts() -> list[tuple[str, dict[str, object]]]:
        with org.rt.uow(write=False) as uow:
            return sorted((d.username, d.data) for d in uow.session.scalars(
                select(TaskDraft).where(TaskDraft.task_id == task)))
    with org.rt.uow() as uow:
        for username in (HOLDER, "admin"):
            drafts_service.save_draft(uow, task, organisation.actor_for(uow, username),
                                      {"found": "2"})
    kept = [("admin", {"found": "2"}), (HOLDER, {"found": "2"})]
    auth.login(HOLDER)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"1st": "x"}})
    assert response.status_code == 422 and drafts() == kept
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"found": 2}})
    assert response.status_code == 200, response.get_json()
    assert org.task(task).state == "completed" and drafts() == []


def test_delegate_to_a_colleague(client: FlaskClient, auth: AuthActions, org: Org,
                                 task: uuid.UUID) -> None:
    url = f"/api/v1/tasks/{task}/delegate"
    assert client.post(url, json={"to": COLLEAGUE, "reason": "x"}).status_code == 401
    auth.login(HOLDER)
    response = client.post(url, json={"to": COLLEAGUE})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["reason"]
    response = client.post(url, json={"to": "nobody", "reason": "出差"})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["to"]
    response = client.post(url, json={"to": OTHER_UNIT, "reason": "出差"})
    assert response.status_code == 403
    response = client.post(url, json={"to": COLLEAGUE, "reason": "出差一周"})
    assert response.status_code == 200 and response.get_json()["assignee"] == COLLEAGUE
    as_user(auth, COLLEAGUE)
    assert ids(client) == [str(task)]
