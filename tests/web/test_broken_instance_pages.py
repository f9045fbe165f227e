"""Issue 13, finding 8, over HTTP: an instance whose stored state was damaged shows the error
on its pages (console, diagram, task page, API) instead of answering 500, and terminate
works from the console."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import update

from engine.models import InstanceStatus, ProcessInstance
from engine.services import instances

from .conftest import AuthActions, Org

HOLDER_POST, HOLDER = "CZJ-BGS-02", "czj-0011"


def _damaged(org: Org) -> int:
    iid = org.start(HOLDER_POST)
    with org.rt.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == iid)
                            .values(state=b"not a state"))
        uow.commit()
    return iid


def _status(org: Org, iid: int) -> str:
    with org.rt.uow(write=False) as uow:
        return instances.get_instance(uow, iid).status


def test_the_console_page_shows_the_error_and_terminate_works(
        org: Org, client: FlaskClient, auth: AuthActions) -> None:
    iid = _damaged(org)
    auth.login("admin")
    page = client.get(f"/console/instances/{iid}")
    assert page.status_code == 200
    assert 'data-role="error"' in page.text and "state unreadable" in page.text
    diagram = client.get(f"/console/instances/{iid}/diagram")
    assert diagram.status_code == 200 and diagram.get_json()["current"] == []
    assert _status(org, iid) == InstanceStatus.ERROR  # marked once the page was read
    again = client.get(f"/console/instances/{iid}")
    assert again.status_code == 200 and 'data-status="error"' in again.text
    done = client.post(f"/console/instances/{iid}/terminate", data={"reason": "状态损坏"},
                       follow_redirects=True)
    assert done.status_code == 200 and 'data-status="terminated"' in done.text
    assert _status(org, iid) == InstanceStatus.TERMINATED


def test_the_api_and_the_task_page_answer_without_500(org: Org, client: FlaskClient,
                                                      auth: AuthActions) -> None:
    iid = _damaged(org)
    task = org.open_task(iid)
    auth.login(HOLDER)
    assert client.get(f"/tasks/{task.id}").status_code < 500
    completed = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {}})
    assert completed.status_code == 409, completed.text
    body = client.get(f"/api/v1/instances/{iid}")
    assert body.status_code == 200
    assert body.get_json()["status"] == "error"
    assert "state unreadable" in (body.get_json().get("error_message") or "")
