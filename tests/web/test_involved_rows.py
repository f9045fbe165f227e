"""我参与的 rows (issue 16 point 2): each instance opens the person's own latest task in it,
and says where it stands now — its open steps and who holds each (待认领 while nobody has
claimed it)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.programme.services import organisation
from engine.services import instances, tasks

from .conftest import AuthActions, Org
from .publicity_cycle import deploy_programme, open_task, start_post_cycle

HOLDER, HEAD = "czj-0011", "czj-0009"
HOLDER_POST = "CZJ-BGS-02"


def _row(html: str, instance_id: int) -> str:
    start = html.index(f'data-instance="{instance_id}"')
    return html[start:html.index("</tr>", start)]


def test_an_involved_row_opens_my_task_and_names_the_open_step(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    iid = org.start(HOLDER_POST, "mine", by=HOLDER)
    mine = org.open_task(iid).id
    org.complete(mine, HOLDER)
    auth.login(HOLDER)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert re.search(rf'<a href="/tasks/{mine}" data-role="open-task">', row)
    steps = row[row.index('data-role="current-steps"'):]
    who = re.search(
        r'严格审核把关 · <span class="text-body-secondary" data-role="who">(.*?)</span>', steps,
        re.S)
    assert who, steps
    with org.rt.uow(write=False) as uow:
        review = org.open_task(iid)
        [group] = tasks.get_task(uow, review.id).candidate_groups
        office = organisation.get_department(uow, "CZJ-BGS").name
        head = organisation.get_account(uow, HEAD).official
    assert group == "department_head:CZJ-BGS"  # shown by name, not by code
    assert who.group(1) == f"待认领 · {office} 内设机构领导", who.group(1)
    org.claim(review.id, HEAD)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert head is not None and f'data-role="who">{head.name}</span>' in row
    review = review.id
    org.complete(review, HEAD)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert "严格审核把关" not in row[row.index('data-role="current-steps"'):]
    assert client.get(f"/tasks/{mine}").status_code == 200  # the link opens for its doer


def _task_row(html: str, task_id: object) -> str:
    start = html.index(f'data-task="{task_id}"')
    return html[start:html.index("</tr>", start)]


def _who(row: str) -> str:
    found = re.search(r'data-role="who">(.*?)</div>', row, re.S)
    assert found, row
    return found.group(1).strip()


def test_inbox_rows_name_who_holds_each_task(client: FlaskClient, auth: AuthActions,
                                             org: Org) -> None:
    iid = org.start(HOLDER_POST, "inbox-who")
    task = org.open_task(iid).id
    with org.rt.uow(write=False) as uow:
        post = organisation.get_post(uow, HOLDER_POST)
        holder = organisation.get_account(uow, HOLDER).official
        [group] = tasks.get_task(uow, task).candidate_groups
    assert group == f"post:{HOLDER_POST}" and holder is not None
    auth.login("admin")  # 全部任务: an administrator's view of everyone's tasks
    assert _who(_task_row(client.get("/inbox/all").get_data(as_text=True), task)) == (
        f"{post.name} 岗位人员")
    org.claim(task, HOLDER)
    assert _who(_task_row(client.get("/inbox/all").get_data(as_text=True), task)) == (
        holder.name)
    org.complete(task, HOLDER)
    auth.logout()
    auth.login(HOLDER)
    assert _who(_task_row(client.get("/inbox/done").get_data(as_text=True), task)) == (
        holder.name)


def test_the_task_history_says_to_whom_each_task_went_by_name(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    iid = org.start(HOLDER_POST, "history-who")
    task = org.open_task(iid).id
    org.complete(task, HOLDER)
    with org.rt.uow(write=False) as uow:
        post = organisation.get_post(uow, HOLDER_POST)
        holder = organisation.get_account(uow, HOLDER).official
        office = organisation.get_department(uow, "CZJ-BGS").name
    assert holder is not None
    auth.login(HOLDER)
    html = client.get(f"/tasks/{task}").get_data(as_text=True)
    history = html[html.index('id="history"'):]
    created = re.findall(r'data-event="task_created">\s*<span>(.*?)</span>\s*<span', history,
                         re.S)
    assert any(f"→ {post.name} 岗位人员" in c for c in created), created
    assert any(f"→ {office} 内设机构领导" in c for c in created), created  # the next step
    completed = re.search(r'data-event="task_completed">\s*<span>(.*?)</span>', history, re.S)
    assert completed and holder.name in completed.group(1) and HOLDER not in completed.group(1)


def test_a_suspended_instances_task_is_marked_and_keeps_what_was_typed(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    deploy_programme(org.rt)
    iid = start_post_cycle(org.rt, HOLDER_POST)
    task = open_task(org.rt, iid, "self_identified")
    auth.login(HOLDER)
    assert 'id="task-form"' in client.get(f"/tasks/{task}").get_data(as_text=True)
    with org.rt.uow() as uow:  # suspended while the holder fills the form in
        instances.suspend_instance(uow, iid, organisation.actor_for(uow, "admin"), "核查")
    response = client.post(f"/tasks/{task}", data={
        "action": "submit", "risks.0._row": "1", "risks.0.description": "审批材料把关不严"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'data-role="halted"' in html and "已暂停" in html and 'id="task-form"' not in html
    assert ">审批材料把关不严</textarea>" in html  # not lost: on screen, read-only
    with org.rt.uow(write=False) as uow:
        assert tasks.get_task(uow, task).state == "open"
    page = client.get(f"/tasks/{task}").get_data(as_text=True)  # opened later: marked too
    assert 'data-role="halted"' in page and 'id="task-form"' not in page
    inbox = _task_row(client.get("/inbox/claimable").get_data(as_text=True), task)
    assert 'data-halted="suspended"' in inbox and "已暂停" in inbox
    with org.rt.uow() as uow:
        instances.resume_instance(uow, iid, organisation.actor_for(uow, "admin"), "核查完毕")
    assert "data-halted" not in _task_row(client.get("/inbox/claimable").get_data(
        as_text=True), task)
