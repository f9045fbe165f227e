"""The level floor at the review form (issue 11, point 3): on the task page of 调整风险等级
(bpmn/post_cycle.bpmn ``change_level``), a level below the post rule's comes back at the
field ``new_level`` with the sentence of the deployed rule it violates, what was typed kept
and nothing changed; the floor itself is accepted. The check is the task's
``completionCheck`` (``register.level_floor``), run by ``complete_task`` before anything is
written — the same for the page, the REST API and the CLI (one ``complete_task``)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.models import TaskState
from engine.programme.models import Post
from engine.programme.services import register_pages
from engine.runtime import Runtime
from engine.services import tasks

from .conftest import AuthActions, Org
from .publicity_cycle import complete, deploy_programme, open_task, risk, start_post_cycle
from .test_task_page import errors_of, input_value

POST = "CZJ-BGS-02"  # 办公室 科员（文秘）, held by czj-0011; given approval power below
HOLDER, HEAD, OFFICER, DEPUTY = "czj-0011", "czj-0009", "czj-0004", "czj-0002"
REASON = "经审核,该岗位审批事项已划转,风险应调低"
SENTENCE = "具有行政审批权和执法权的岗位"


def _to_change_level(rt: Runtime) -> int:
    """A cycle of a post with approval power (level 1 by post_grading.dmn) whose reviewer,
    the deputy in charge, did not approve: 调整风险等级 waits for him."""
    with rt.uow() as uow:
        uow.session.execute(update(Post).where(Post.code == POST).values(approval_power=True))
        uow.commit()
    iid = start_post_cycle(rt, POST)
    complete(rt, iid, "self_identified", HOLDER, {"risks": [risk(f"{POST}:审批材料把关不严")]})
    complete(rt, iid, "peer_checked", HEAD, {"risks": []})
    complete(rt, iid, "leader_pointed", HEAD, {"risks": []})
    complete(rt, iid, "organization_reviewed", OFFICER, {"risks": []})
    complete(rt, iid, "review", DEPUTY, {"approved": False, "review_comment": "等级偏高"})
    return iid


def test_a_level_below_the_floor_comes_back_at_the_field(
        app: Flask, org: Org, client: FlaskClient, auth: AuthActions) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    iid = _to_change_level(rt)
    task_id = open_task(rt, iid, "change_level")
    auth.login(DEPUTY)
    response = client.post(f"/tasks/{task_id}", data={
        "action": "submit", "new_level": "3", "level_reason": REASON})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="form-errors"' in html
    error = errors_of(html, "new_level")
    assert "不得定为 3 级" in error and SENTENCE in error  # said in the page's language
    assert input_value(html, "new_level") == "3"
    assert input_value(html, "level_reason") == REASON
    with rt.uow(write=False) as uow:  # nothing changed
        assert tasks.get_task(uow, task_id).state == TaskState.OPEN
        grading = register_pages.post_register(uow, POST, 2011).grading
        assert grading is not None
        assert (grading.override_level, grading.effective_level) == (None, 1)

    # The REST API completes through the same check: 422, the error at data.new_level.
    response = client.post(f"/api/v1/tasks/{task_id}/complete",
                           json={"data": {"new_level": 2, "level_reason": REASON}})
    assert response.status_code == 422
    body = response.get_json()
    assert SENTENCE in body["errors"]["data.new_level"][0]

    response = client.post(f"/tasks/{task_id}", data={
        "action": "submit", "new_level": "1", "level_reason": REASON})
    assert response.status_code == 302  # the floor itself is accepted
    with rt.uow(write=False) as uow:
        assert tasks.get_task(uow, task_id).state == TaskState.COMPLETED
        grading = register_pages.post_register(uow, POST, 2011).grading
        assert grading is not None and grading.override_level == 1
