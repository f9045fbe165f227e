"""Task context (engine/task_context.py): a user task shows what it is about beside its form —
the citizen's feedback to the officer who reviews it, the shortfall to the one who corrects
it — read-only, on the page and in the API's task answer; and the review of a citizen's
feedback asks for a classification only when the answer needs one."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.errors import DeploymentError, ValidationFailed
from engine.models import HumanTask, ProcessDefinition, TaskState
from engine.parsing import Source, parse_sources, parse_xml
from engine.programme.services import feedback, organisation
from engine.runtime import Runtime
from engine.services import tasks
from engine.services.design_lint import validation
from engine.settings import PROJECT_ROOT
from engine.task_context import ContextField, resolve
from web.designer import problems

from .conftest import AuthActions, Org
from .correction_cycle import to_correction
from .publicity_cycle import (
    YEAR,
    complete,
    deploy_programme,
    open_task,
    risk,
    start_post_cycle,
    to_publicity,
)

POST, OFFICER, OTHER_UNIT_OFFICER = "CZJ-BGS-02", "czj-0004", "fgw-0004"
TEXT, CONTACT = "窗口办事要求先请吃饭", "138-0000-0000"
SHORTFALL = "台账登记不及时,缺少三月份记录"


def _suggestion(rt: Runtime) -> uuid.UUID:
    """A post in publicity with a citizen's feedback delivered: the officer's review task."""
    iid = to_publicity(rt, POST)
    with rt.uow() as uow:
        receipt = feedback.submit_feedback(uow, POST, TEXT, CONTACT, year=YEAR)
    assert receipt.delivered
    return open_task(rt, iid, "suggestion_review")


def test_the_officer_sees_the_citizens_feedback_on_page_and_api(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    task_id = _suggestion(rt)
    auth.login(OFFICER)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    context = html[html.index('id="task-context"'):html.index('id="form-card"')]
    assert "群众意见" in context and TEXT in context
    assert "联系方式" in context and CONTACT in context
    body = client.get(f"/api/v1/tasks/{task_id}").get_json()
    assert [(c["source"], c["label"], c["value"], c["present"]) for c in body["context"]] == [
        ("suggestion.text", "群众意见", TEXT, True),
        ("suggestion.contact", "联系方式", CONTACT, True)]
    assert body["context"][0]["label_en"] == "Citizen's feedback"
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Citizen&#39;s feedback" in english and "What this task is about" in english
    auth.logout()
    auth.login(OTHER_UNIT_OFFICER)  # may not see the task: told nothing of its context
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 403


def test_rejecting_feedback_needs_no_classification(app: Flask, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    task_id = _suggestion(rt)
    with rt.uow() as uow, pytest.raises(ValidationFailed) as refused:
        tasks.complete_task(uow, task_id, organisation.actor_for(uow, OFFICER),
                            {"suggestion_accepted": True})
    assert set(refused.value.details["errors"]) >= {"suggestion_category", "suggestion_likelihood",
                                          "suggestion_harm"}
    with rt.uow() as uow, pytest.raises(ValidationFailed) as upheld:
        tasks.complete_task(uow, task_id, organisation.actor_for(uow, OFFICER),
                            {"suggestion_accepted": False, "complaint_upheld": True})
    assert "suggestion_category" in upheld.value.details["errors"]
    with rt.uow() as uow:
        tasks.complete_task(uow, task_id, organisation.actor_for(uow, OFFICER),
                            {"suggestion_accepted": False, "suggestion_remarks": "不属于风险"})
    with rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, task_id).state == TaskState.COMPLETED


def test_the_page_hides_the_classification_until_it_is_asked_for(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    task_id = _suggestion(rt)
    auth.login(OFFICER)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    start = html.index('data-field="suggestion_category"')
    tag = html[start:html.index(">", start)]
    assert "data-shown-when=" in tag and "suggestion_accepted" in tag and " hidden" in tag


def test_the_reviewer_sees_the_level_and_its_rule(app: Flask, client: FlaskClient,
                                                  auth: AuthActions, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    iid = start_post_cycle(rt, POST)
    with rt.uow(write=False) as uow:
        leaders = organisation.leaders_for(uow, POST)
    assert leaders.holder and leaders.department_head and leaders.discipline_officer
    complete(rt, iid, "self_identified", leaders.holder, {"risks": [risk("审批把关不严")]})
    for element, who in (("peer_checked", leaders.department_head),
                         ("leader_pointed", leaders.department_head),
                         ("organization_reviewed", leaders.discipline_officer)):
        complete(rt, iid, element, who, {"risks": []})
    auth.login("admin")
    body = client.get(f"/api/v1/tasks/{open_task(rt, iid, 'review')}").get_json()
    shown = {c["source"]: c for c in body["context"]}
    assert shown["post_level"]["value"] in (1, 2, 3)
    assert shown["grading.rule_level"]["value"] in (1, 2, 3)
    rule = shown["grading.rule_sentence"]
    assert rule["present"] and "廉政风险" in rule["value"], rule
    assert "objection.text" not in shown  # optional: no objection was raised


def test_a_correction_names_its_shortfall(app: Flask, client: FlaskClient,
                                          auth: AuthActions, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    task_id = to_correction(rt, to_publicity(rt, POST), SHORTFALL)
    auth.login("admin")
    body = client.get(f"/api/v1/tasks/{task_id}").get_json()
    shown = {c["source"]: c["value"] for c in body["context"]}
    assert shown == {"shortfall": SHORTFALL, "assessment_score": 82,  # round(82.5)
                     "assessment_remarks": "总体良好"}
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "考核发现的问题" in html and SHORTFALL in html


def test_help_texts_name_no_internal_ids(app: Flask, org: Org) -> None:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    with rt.uow(write=False) as uow:
        catalogs = list(uow.session.scalars(select(ProcessDefinition.catalog)))
    forms = [str(entry["properties"].get("formSchema", "")) for catalog in catalogs
             for entry in catalog.values()]
    assert any("0-100分" in form for form in forms)
    for internal in ("information_monitoring(", "superior_inspection(", "social_evaluation(",
                     "disposal_outcomes"):
        assert not any(internal in form for form in forms), internal


def _model(context: str) -> Source:
    return Source("ctx.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:irpm="http://irpm/bpmn/context" id="d" targetNamespace="http://t">
  <bpmn:process id="ctx" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="look" name="Look">
      <bpmn:extensionElements>{context}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode())


def test_fields_are_read_at_deploy_and_bad_ones_refused_naming_the_element() -> None:
    [parsed] = parse_sources([_model(
        '<irpm:context><irpm:field source="a.b.0" label="甲" label_en="A"/>'
        '<irpm:field source="x" label="乙" optional="true"/></irpm:context>')])
    assert parsed.catalog["look"]["context"] == [
        {"source": "a.b.0", "label": "甲", "label_en": "A"},
        {"source": "x", "label": "乙", "optional": "true"}]
    for bad, said in (('source="a..b" label="甲"', "is not a variable path"),
                      ('source="a" label=""', "needs a label"),
                      ('source="a" label="甲" optional="yes"', "optional is")):
        with pytest.raises(DeploymentError) as refused:
            parse_sources([_model(f"<irpm:context><irpm:field {bad}/></irpm:context>")])
        assert said in str(refused.value) and refused.value.element == "look"


def test_values_are_looked_up_along_the_path() -> None:
    fields = [ContextField("a.b.1", "甲"), ContextField("a.c", "乙"),
              ContextField("gone", "丙", optional=True), ContextField("flag", "丁")]
    values = resolve(fields, {"a": {"b": ["x", "y"]}, "flag": False})
    assert [(v.label, v.value, v.present) for v in values] == [
        ("甲", "y", True), ("乙", None, False), ("丁", False, True)]


def test_lint_names_the_task_whose_context_source_the_process_never_mentions(
        app: Flask) -> None:
    post_cycle = (PROJECT_ROOT / "bpmn" / "post_cycle.bpmn").read_bytes()
    source = Source("post_cycle.bpmn", post_cycle)
    assert validation.lint(source, parse_xml(source)) == []  # the shipped model is clean
    typo = Source("post_cycle.bpmn", post_cycle.replace(
        b'source="suggestion.text"', b'source="sugestion.text"', 1))
    [problem] = validation.lint(typo, parse_xml(typo))
    assert (problem.rule, problem.element, problem.params["variable"]) == (
        "task_context", "suggestion_review", "sugestion")
    assert "审核群众意见" in problem.message and "sugestion.text" in problem.message
    with app.test_request_context():
        assert problems.text(problem).startswith("“审核群众意见”的任务上下文显示“sugestion.text”")
    bad = Source("post_cycle.bpmn", post_cycle.replace(
        'label="群众意见"'.encode(), b'label=""', 1))
    [problem] = validation.lint(bad, parse_xml(bad))
    assert (problem.code, problem.element) == ("task_context_invalid", "suggestion_review")
