"""The task page (web/tasks) on the programme's post cycle in the small organisation of
``tests/inbox_org.py``: the form generated from the task's formSchema, server-side
validation with errors next to their inputs and nothing typed lost, drafts, rows added and
removed without JavaScript, the context beside the form (the post's register, the history,
the diagram endpoint), claim / release, and who may do what."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import HumanTask, InstanceEvent, TaskDraft, TaskState
from engine.parsing import read_sources
from engine.programme.models import RiskPoint
from engine.programme.services import organisation
from engine.runtime import Runtime
from engine.services import deployment, instances, tasks
from engine.settings import Settings
from tests.conftest import BPMN_DIR
from tests.databases import Template

from .conftest import AuthActions, Org, csrf_token, make_app, programme_runtime

HOLDER, COLLEAGUE, HEAD, OTHER_UNIT = "czj-0011", "czj-0012", "czj-0009", "fgw-0011"
HOLDER_POST = "CZJ-BGS-02"  # 办公室 科员（文秘）, held by czj-0011


@dataclass
class PostCycle:
    """A post cycle of ``HOLDER_POST`` (bpmn/post_cycle.bpmn) and a way to look into it."""

    rt: Runtime
    instance_id: int

    def task(self, element_id: str) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            [task] = uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == self.instance_id, HumanTask.element_id == element_id))
            return task

    def complete(self, element_id: str, username: str, data: dict[str, Any]) -> None:
        with self.rt.uow() as uow:
            tasks.complete_task(uow, self.task(element_id).id,
                                   organisation.actor_for(uow, username), data)

    def points(self) -> list[RiskPoint]:
        with self.rt.uow(write=False) as uow:
            return list(uow.session.scalars(select(RiskPoint).order_by(RiskPoint.id)))

    def drafts(self) -> list[TaskDraft]:
        with self.rt.uow(write=False) as uow:
            return list(uow.session.scalars(select(TaskDraft).order_by(TaskDraft.id)))

    def event_count(self) -> int:
        with self.rt.uow(write=False) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(InstanceEvent)) or 0)


def start_post_cycle(rt: Runtime, post_code: str = HOLDER_POST) -> int:
    with rt.uow(write=False) as uow:
        post = organisation.get_post(uow, post_code)
        data = {**post.attributes(), "post_code": post.code, "post_name": post.name,
                "department_code": post.department.code,
                "unit_code": post.department.unit.code, "year": 2011}
    with rt.uow() as uow:
        return instances.start_instance(uow, "post_cycle", post_code, data,
                                       actor=organisation.actor_for(uow, "admin")).id


def seed_post_cycle(settings: Settings) -> int:
    """bpmn/ deployed (in the organisation ``org`` loaded) and a post cycle started for the
    holder's post, for a template (``post_cycle_world``): the instance's id."""
    rt = programme_runtime(settings)
    try:
        with rt.uow() as uow:
            deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
        return start_post_cycle(rt)
    finally:
        rt.close()


def running_post_cycle(settings: Settings, post_cycle_world: Template) -> Iterator[PostCycle]:
    """bpmn/ deployed (in the organisation ``org`` loaded) and a post cycle started for the
    holder's post: 自己找 waits for them to claim it (a copy of ``post_cycle_world``)."""
    rt = programme_runtime(settings)
    yield PostCycle(rt, post_cycle_world.seeded)
    rt.close()


def task_page_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The app, keeping evidence files under ``tmp_path``."""
    app = make_app(settings, IRPM_EVIDENCE_DIR=str(tmp_path / "evidence"))
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def cycle(org: Org, settings: Settings, post_cycle_world: Template) -> Iterator[PostCycle]:
    yield from running_post_cycle(settings, post_cycle_world)


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    yield from task_page_app(settings, tmp_path)


def page_of(client: FlaskClient, task_id: uuid.UUID, status: int = 200) -> str:
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == status
    return response.get_data(as_text=True)


def risk(n: int, **fields: str) -> dict[str, str]:
    """Form fields of row ``n`` of the discovery form."""
    values = {"category": "duty", "description": f"第{n + 1}个风险：审批环节未经集体讨论",
              "likelihood": "low", "harm": "minor", **fields}
    return {f"risks.{n}.{k}": v for k, v in values.items()} | {f"risks.{n}._row": "1"}


def input_value(html: str, name: str) -> str | None:
    """What the page shows in the input / textarea / select called ``name``."""
    textarea = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html)
    if textarea:
        return textarea.group(1)
    select_ = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    if select_:
        chosen = re.search(r'<option value="([^"]*)"\s*selected', select_.group(1))
        return chosen.group(1) if chosen else ""
    field = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if field:
        value = re.search(r'value="([^"]*)"', field.group(0))
        return value.group(1) if value else ""
    return None


def errors_of(html: str, path: str) -> str:
    block = re.search(rf'id="f-{re.escape(path.replace(".", "-"))}-errors"[^>]*>(.*?)</div>',
                      html, re.S)
    return block.group(1).strip() if block else ""


# ------------------------------------------------------------------------ the form


def test_the_discovery_form_is_generated_from_the_schema(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    auth.login(HOLDER)
    html = page_of(client, cycle.task("self_identified").id)
    assert 'id="task-name">自己找<' in html
    assert "对照岗位职责" in html  # the schema's description
    assert 'data-role="found-by">自己找<' in html  # how these risks are found
    # One row to start with, its enums as selects with the schema's Chinese labels …
    assert 'data-array="risks"' in html and 'data-row="risks.0"' in html
    assert re.search(r'<select[^>]*name="risks\.0\.category"', html)
    for label in ("岗位职责风险", "业务流程风险", "制度机制风险", "外部环境风险", "几率较高",
                  "可能受到纪律处分"):
        assert f">{label}</option>" in html
    # … the long description a text area, limited as the schema says …
    assert re.search(r'<textarea[^>]*name="risks\.0\.description"[^>]*maxlength="2000"', html)
    # … a row template for JavaScript, the add / remove buttons, the evidence upload.
    assert 'name="risks.__i0__.category"' in html
    assert 'value="add:risks"' in html and 'value="remove:risks.0"' in html
    assert 'type="file"' in html and 'enctype="multipart/form-data"' in html
    assert 'src="/static/js/task-form.js"' in html
    assert "<script>" not in html  # no inline script (CSP: scripts from self only)


def test_review_forms_get_yes_no_choices_text_areas_and_labelled_levels(app: Flask) -> None:
    """Other forms of the cycle, rendered from their own schemas (the department head
    reviews; the level change is an integer 1–3 whose description names the levels)."""
    from web.tasks import form_state, schema_form

    review = schema_form.build({"type": "object", "required": ["approved"], "properties": {
        "approved": {"type": "boolean", "title": "审核通过"},
        "review_comment": {"type": "string", "title": "审核意见", "maxLength": 500},
        "note": {"type": "string", "title": "备注", "maxLength": 50},
        "checked": {"type": "boolean", "title": "已核实"}}})
    assert [(f.name, f.kind) for f in review] == [
        ("approved", "boolean"), ("review_comment", "text"), ("note", "string"),
        ("checked", "checkbox")]
    [level] = schema_form.build({"type": "object", "properties": {"new_level": {
        "type": "integer", "title": "调整后的风险等级", "description": "1=一级,2=二级,3=三级",
        "minimum": 1, "maximum": 3}}})
    assert level.kind == "select"
    assert level.choices == [("1", "一级"), ("2", "二级"), ("3", "三级")]

    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string(
            '{% from "tasks/_form.html" import field with context %}'
            '{% for f in fields %}{{ field(f, f.name, state) }}{% endfor %}',
            fields=review, state=form_state.FormState(review, {"approved": "false"}),
            dom_id=schema_form.dom_id)
    assert re.search(r'type="radio" name="approved" id="f-approved-false" value="false"\s+checked',
                     html)
    assert re.search(r'<textarea[^>]*name="review_comment"[^>]*maxlength="500"', html)
    assert re.search(r'<input[^>]*type="text"[^>]*name="note"[^>]*maxlength="50"', html)
    assert re.search(r'type="checkbox"[^>]*name="checked"', html)


def test_an_invalid_submit_shows_each_error_at_its_field_and_keeps_what_was_typed(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    client.post(f"/tasks/{task.id}", data={"action": "save", **risk(0, description="草稿")})
    [draft] = cycle.drafts()
    events = cycle.event_count()
    form = {"action": "submit", **risk(0), **risk(1, description="", category="nonsense"),
            **risk(2, likelihood="", description="第三个：报销单据把关不严")}
    response = client.post(f"/tasks/{task.id}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="form-errors"' in html and "任务未提交" in html
    # risks.1.description → the second row's description, and so on.
    assert errors_of(html, "risks.1.description") == "此项为必填项。"
    assert errors_of(html, "risks.1.category") == "请从选项中选择。"
    assert errors_of(html, "risks.2.likelihood") == "此项为必填项。"
    assert errors_of(html, "risks.0.description") == ""
    assert 'href="#f-risks-1-description"' in html
    assert re.search(r'<textarea class="form-control is-invalid" id="f-risks-1-description"', html)
    # Nothing typed is lost, not even the invalid choice.
    assert input_value(html, "risks.0.description") == "第1个风险：审批环节未经集体讨论"
    assert input_value(html, "risks.1.category") == "nonsense"
    assert input_value(html, "risks.2.description") == "第三个：报销单据把关不严"
    assert input_value(html, "risks.2.harm") == "minor"
    # And nothing changed.
    assert cycle.task("self_identified").state == TaskState.OPEN
    assert cycle.task("self_identified").assignee is None
    assert cycle.points() == []
    assert [(d.id, d.data) for d in cycle.drafts()] == [(draft.id, draft.data)]  # kept as is
    assert cycle.event_count() == events


def test_an_empty_row_is_refused_with_the_errors_at_its_fields(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    # The one row on screen left blank: its fields say what is missing (not the list that
    # it has no row), and the summary names each field.
    response = client.post(f"/tasks/{task.id}", data={
        "action": "submit", "risks.0._row": "1", "risks.0.category": "",
        "risks.0.description": "  "})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_of(html, "risks") == ""
    assert errors_of(html, "risks.0.description") == "此项为必填项。"
    summary = html[html.index('id="form-errors"'):]
    summary = summary[:summary.index("</div>")]
    assert "请至少添加" not in summary
    assert re.search(r"廉政风险点 1 · 风险描述</a> 此项为必填项。", summary), summary
    assert cycle.task("self_identified").state == TaskState.OPEN
    # With no row posted at all, the list itself is what is missing.
    html = client.post(f"/tasks/{task.id}", data={"action": "submit"}).get_data(as_text=True)
    assert errors_of(html, "risks") == "请至少添加 1 项。"


def test_a_valid_submit_completes_the_task_records_the_risks_and_returns_to_the_inbox(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    client.post(f"/tasks/{task.id}", data={"action": "save", **risk(0)})
    assert len(cycle.drafts()) == 1
    response = client.post(f"/tasks/{task.id}", data={
        "action": "submit", **risk(0), **risk(3, category="process", likelihood="high",
                                              harm="disciplinary")})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/mine"
    assert "“自己找”已提交" in client.get("/inbox/mine").get_data(as_text=True)
    done = cycle.task("self_identified")
    assert (done.state, done.completed_by) == (TaskState.COMPLETED, HOLDER)
    assert [(p.category, p.found_by, p.likelihood, p.harm, p.created_by)
            for p in cycle.points()] == [
        ("duty", "self_identified", "low", "minor", HOLDER),
        ("process", "self_identified", "high", "disciplinary", HOLDER)]
    assert cycle.drafts() == []  # cleared with the completion
    # The completed task shows what was submitted, read-only.
    html = page_of(client, task.id)
    assert 'id="task-form"' not in html and 'id="submitted"' in html
    assert "业务流程风险" in html and "第4个风险" in html


def test_integers_and_booleans_reach_the_engine_typed(app: Flask) -> None:
    from web.tasks import form_values, schema_form

    fields = schema_form.build({"type": "object", "properties": {
        "approved": {"type": "boolean"}, "checked": {"type": "boolean"},
        "level": {"type": "integer"}, "score": {"type": "number"},
        "comment": {"type": "string"},
        "shortfalls": {"type": "array", "items": {"type": "string"}}},
        "required": ["approved"]})
    raw = form_values.parse(fields, {"approved": "false", "level": " 2 ", "score": "7.5",
                                     "comment": "", "shortfalls.0": "台账不全",
                                     "shortfalls.1": "", "shortfalls.3": "未公示"})
    assert raw["checked"] == "false" and raw["shortfalls"] == ["台账不全", "", "未公示"]
    assert form_values.to_data(fields, raw) == {
        "approved": False, "checked": False, "level": 2, "score": 7.5,
        "shortfalls": ["台账不全", "未公示"]}
    # What cannot be converted goes to the engine as typed, which names the error.
    bad = form_values.to_data(fields, {**raw, "level": "二", "score": "nan"})
    assert (bad["level"], bad["score"]) == ("二", "nan")


# ------------------------------------------------------------------------ drafts


def test_a_draft_is_kept_per_task_and_user_and_restored(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    typed = {**risk(0, description="还没想好"), **risk(1, category="", likelihood="high")}
    response = client.post(f"/tasks/{task.id}", data={"action": "save", **typed})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    html = page_of(client, task.id)
    assert "草稿已保存" in html and 'data-role="draft"' in html
    assert input_value(html, "risks.0.description") == "还没想好"
    assert input_value(html, "risks.1.category") == ""
    assert input_value(html, "risks.1.likelihood") == "high"
    [draft] = cycle.drafts()
    assert (draft.task_id, draft.username) == (task.id, HOLDER)
    assert cycle.task("self_identified").assignee is None  # a draft claims nothing

    # Saving again replaces it; an empty row is not kept.
    client.post(f"/tasks/{task.id}", data={
        "action": "save", **risk(0, description="改过了"), "risks.5._row": "1"})
    [draft] = cycle.drafts()
    assert [row["description"] for row in draft.data["risks"]] == ["改过了"]

    # Nobody else sees it: not even an administrator who could work on the task.
    auth.logout()
    auth.login("admin")
    html = page_of(client, task.id)
    assert input_value(html, "risks.0.description") == "" and 'data-role="draft"' not in html

    auth.logout()
    auth.login(HOLDER)
    client.post(f"/tasks/{task.id}", data={"action": "discard"})
    assert cycle.drafts() == []
    assert input_value(page_of(client, task.id), "risks.0.description") == ""


def test_rows_are_added_and_removed_without_javascript_keeping_what_was_typed(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    typed = {**risk(0, description="甲"), **risk(1, description="乙")}
    added = client.post(f"/tasks/{task.id}", data={"action": "add:risks", **typed})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert 'data-row="risks.2"' in html and input_value(html, "risks.2.description") == ""
    assert input_value(html, "risks.1.description") == "乙"

    removed = client.post(f"/tasks/{task.id}", data={"action": "remove:risks.0", **typed})
    html = removed.get_data(as_text=True)
    assert removed.status_code == 200
    assert input_value(html, "risks.0.description") == "乙"
    assert 'data-row="risks.1"' not in html
    assert cycle.drafts() == [] and cycle.points() == []  # nothing saved either way

    assert client.post(f"/tasks/{task.id}", data={"action": "add:nowhere"}).status_code == 400
    assert client.post(f"/tasks/{task.id}", data={"action": "explode"}).status_code == 400


# ------------------------------------------------------------------------ who may do what


def test_someone_who_may_only_follow_the_task_gets_no_form_and_cannot_change_it(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HEAD)  # the department head oversees the department's tasks
    html = page_of(client, task.id)
    assert 'id="task-form"' not in html and 'data-role="read-only"' in html
    assert 'data-action="claim"' not in html
    response = client.post(f"/tasks/{task.id}", data={"action": "submit", **risk(0)})
    assert response.status_code == 302
    assert "只有办理人" in page_of(client, task.id)
    assert cycle.task("self_identified").state == TaskState.OPEN
    assert cycle.drafts() == [] and cycle.points() == []

    auth.logout()
    auth.login(COLLEAGUE)  # may not even see it
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert client.post(f"/tasks/{task.id}", data={"action": "save", **risk(0)}
                       ).status_code == 403
    assert cycle.drafts() == []


def test_claim_and_release_from_the_task_page(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    html = page_of(client, task.id)
    assert 'data-action="claim"' in html and 'data-role="unclaimed"' in html
    response = client.post(f"/inbox/tasks/{task.id}/claim", data={"next": f"/tasks/{task.id}"})
    assert response.headers["Location"] == f"/tasks/{task.id}"
    html = page_of(client, task.id)
    assert 'data-action="unclaim"' in html and 'data-action="claim"' not in html
    assert f'data-role="assignee">{HOLDER}<' in html
    client.post(f"/inbox/tasks/{task.id}/unclaim", data={"next": f"/tasks/{task.id}"})
    assert cycle.task("self_identified").assignee is None


def test_the_form_carries_a_csrf_token_and_is_refused_without_it(
        settings: Settings, tmp_path: Path, cycle: PostCycle) -> None:
    app = make_app(settings, WTF_CSRF_ENABLED=True, IRPM_EVIDENCE_DIR=str(tmp_path / "ev"))
    try:
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": HOLDER, "password": "irpm-web-test-1",
                                    "csrf_token": csrf_token(login)})
        task = cycle.task("self_identified")
        html = page_of(client, task.id)
        token = re.search(r'<form method="post" action="/tasks/[^"]+".*?name="csrf_token" '
                          r'value="([^"]+)"', html, re.S)
        assert token
        refused = client.post(f"/tasks/{task.id}", data={"action": "save", **risk(0)})
        assert refused.status_code == 400 and cycle.drafts() == []
        saved = client.post(f"/tasks/{task.id}", content_type="multipart/form-data", data={
            "action": "save", "csrf_token": token.group(1), **risk(0)})
        assert saved.status_code == 302 and len(cycle.drafts()) == 1
    finally:
        app.extensions["irpm"].close()


# ------------------------------------------------------------------------ context


def test_the_page_shows_the_post_its_register_and_the_history_in_chinese(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    cycle.complete("self_identified", HOLDER, {"risks": [
        {"category": "duty", "description": "公文处理中泄露工作秘密", "likelihood": "low",
         "harm": "disciplinary"}]})
    peer = cycle.task("peer_checked")
    auth.login(COLLEAGUE)  # 互相查: the colleague sees what the holder found
    html = page_of(client, peer.id)
    assert 'id="task-name">互相查<' in html and 'data-role="found-by">互相查<' in html
    register = html[html.index('id="register"'):html.index('id="history"')]
    assert "科员（文秘）" in register and "办公室" in register and "财政局" in register
    assert "公文处理中泄露工作秘密" in register and "自己找" in register
    assert "岗位职责风险" in register and "可能受到纪律处分" in register
    assert f"{HOLDER} ·" in register and 'data-role="point-count">1<' in register
    history = html[html.index('id="history"'):]
    with cycle.rt.uow(write=False) as uow:  # people by name, not by login
        holder = organisation.get_account(uow, HOLDER).official
    assert holder is not None and f"办结任务 · 自己找 · {holder.name}" in history
    assert "生成任务 · 互相查" in history


def test_the_diagram_endpoint_gives_the_bpmn_and_the_current_step_to_those_who_may_see(
        client: FlaskClient, auth: AuthActions, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    assert client.get(f"/tasks/{task.id}/diagram",
                      headers={"Accept": "application/json"}).status_code == 401
    auth.login(HOLDER)
    response = client.get(f"/tasks/{task.id}/diagram")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["process"] == "post_cycle" and body["current"] == ["self_identified"]
    assert '<bpmn:process id="post_cycle"' in body["xml"] and "bpmndi:BPMNDiagram" in body["xml"]
    assert body["done"] == []
    html = page_of(client, task.id)
    assert f'data-src="/tasks/{task.id}/diagram"' in html
    assert "bpmn-navigated-viewer.production.min.js" in html

    cycle.complete("self_identified", HOLDER, {"risks": [
        {"category": "duty", "description": "x", "likelihood": "low", "harm": "minor"}]})
    body = client.get(f"/tasks/{task.id}/diagram").get_json()
    # The done task is no longer current: the step the instance moved on to is.
    assert body["current"] == ["peer_checked"] and body["done"] == ["self_identified"]
    footer = page_of(client, task.id).split('data-role="current-steps"', 1)[1]
    footer = footer.split("</span>\n", 1)[0]
    assert "当前步骤：互相查" in footer and "自己找" not in footer

    auth.logout()
    auth.login(OTHER_UNIT)
    assert client.get(f"/tasks/{task.id}/diagram").status_code == 403
    assert client.get(f"/tasks/{uuid.uuid4()}/diagram").status_code == 404
