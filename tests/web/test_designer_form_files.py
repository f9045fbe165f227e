"""The designer takes SpiffArena's form files (issue 12, point 5): the ``.json`` schema and
ui-schema files a user task names travel with the diagram through the editor's JSON API —
validated (JSON syntax, the JSON Schema meta-schema, every named file present; each problem
in the editor's format, in the user's language), saved with the draft, deployed in the same
version as ``irpm deploy`` does — and the live preview renders a task's form with the task
page's own renderer (web/designer/preview.py).

The model is tests/conformance/models/file_inputs/ (a receipt and photos)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import DesignDraft, ProcessDefinition
from engine.programme.services import organisation
from tests.inbox_org import shared_password_hash

from .conftest import AuthActions, Org
from .test_file_inputs import MODELS

BPMN = (MODELS / "receipt_report.bpmn").read_text("utf-8")
SCHEMA = (MODELS / "receipt-schema.json").read_text("utf-8")
UI = (MODELS / "receipt-uischema.json").read_text("utf-8")
FORMS = [{"filename": "receipt-schema.json", "text": SCHEMA},
         {"filename": "receipt-uischema.json", "text": UI}]


@pytest.fixture
def designer(org: Org, client: FlaskClient, auth: AuthActions) -> FlaskClient:
    with org.rt.uow() as uow:
        organisation.save_account(uow, "designer", password_hash=shared_password_hash(),
                                  roles={"designer"})
    assert auth.login("designer").status_code == 302
    return client


def body(forms: list[dict[str, str]], xml: str = BPMN) -> dict[str, Any]:
    return {"filename": "receipt_report.bpmn", "xml": xml, "forms": forms}


def problems(client: FlaskClient, forms: list[dict[str, str]]) -> list[dict[str, Any]]:
    response = client.post("/designer/api/validate", json=body(forms))
    assert response.status_code == 200
    return list(response.get_json()["problems"])


def test_the_diagram_with_its_form_files_validates(designer: FlaskClient) -> None:
    assert problems(designer, FORMS) == []


def test_a_named_file_that_is_missing_is_a_problem_at_the_task(designer: FlaskClient) -> None:
    [found] = problems(designer, FORMS[:1])
    assert (found["rule"], found["filename"], found["element"]) == (
        "form_file", "receipt_report.bpmn", "report")
    assert found["line"] == BPMN.splitlines().index(
        '    <bpmn:userTask id="report" name="上传收据">') + 1
    assert found["message"] == ("用户任务“上传收据”指定的 formUiSchemaFilename "
                                "“receipt-uischema.json”不在表单文件中：请添加该文件，或改正文件名。")


@pytest.mark.parametrize("text,code,said", [
    ('{"type": "object",\n "properties": {,}}', "form_file_json", "不是有效的 JSON"),
    ("[1]", "form_file_object", "一个 JSON 对象"),
    ('{"type": "object", "properties": {"a": {"type": "tuple"}}}', "form_file_schema",
     "properties/a/type"),
    ('{"type": "object", "properties": {"a": {"$ref": "#/definitions/nope"}}}',
     "form_file_form", "#/definitions/nope"),
])
def test_a_bad_schema_file_is_a_problem_naming_the_file(
        designer: FlaskClient, text: str, code: str, said: str) -> None:
    forms = [{"filename": "receipt-schema.json", "text": text}, FORMS[1]]
    [found] = problems(designer, forms)
    assert (found["rule"], found["code"], found["filename"]) == (
        "form_file", code, "receipt-schema.json")
    assert said in found["message"]
    if code == "form_file_json":
        assert found["line"] == 2


def test_deploy_takes_the_form_files_into_the_version_and_the_editor_gets_them_back(
        designer: FlaskClient, org: Org) -> None:
    refused = designer.post("/designer/api/deploy", json=body(FORMS[:1]))
    assert refused.status_code == 422
    with org.rt.uow(write=False) as uow:
        assert list(uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "receipt_report"))) == []
    response = designer.post("/designer/api/deploy", json=body(FORMS))
    assert response.status_code == 200, response.get_json()
    with org.rt.uow(write=False) as uow:
        [row] = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "receipt_report"))
        assert sorted((s.filename, s.kind) for s in row.sources) == [
            ("receipt-schema.json", "json"), ("receipt-uischema.json", "json"),
            ("receipt_report.bpmn", "bpmn")]
    opened = designer.get("/designer/api/file?process=receipt_report").get_json()
    assert opened["forms"] == FORMS


def test_a_draft_keeps_its_form_files_and_deploying_drops_them(
        designer: FlaskClient, org: Org) -> None:
    edited = [{"filename": "receipt-schema.json", "text": "{half typed"}, FORMS[1]]
    response = designer.post("/designer/api/drafts", json=body(edited))
    assert response.status_code == 200, response.get_json()
    opened = designer.get("/designer/api/file?file=receipt_report.bpmn&draft=1").get_json()
    assert opened["forms"] == edited
    # A form file removed in the editor goes from the draft when it is saved again.
    designer.post("/designer/api/drafts", json=body(edited[:1]))
    opened = designer.get("/designer/api/file?file=receipt_report.bpmn&draft=1").get_json()
    assert opened["forms"] == edited[:1]
    index = designer.get("/designer/").get_data(as_text=True)
    assert "receipt-schema.json" not in index  # not listed as a diagram draft of its own
    assert designer.post("/designer/api/deploy", json=body(FORMS)).status_code == 200
    with org.rt.uow(write=False) as uow:
        assert list(uow.session.scalars(select(DesignDraft))) == []


PREVIEWED = {
    "type": "object",
    "required": ["kind"],
    "definitions": {"kinds": {"type": "string", "oneOf": [
        {"const": "cash", "title": "现金"}, {"const": "card", "title": "购物卡"}]}},
    "properties": {
        "kind": {"$ref": "#/definitions/kinds", "title": "礼品种类"},
        "received_on": {"type": "string", "format": "date", "title": "收到日期"},
        "count": {"type": "integer", "title": "件数", "default": 2},
        "scan": {"type": "string", "format": "data-url", "title": "扫描件"},
        "notes": {"type": "string", "title": "备注"},
    },
}


def test_the_preview_renders_the_form_as_the_task_page_does(designer: FlaskClient) -> None:
    ui = {"ui:order": ["notes", "*"], "notes": {"ui:widget": "textarea", "ui:help": "写明经过"},
          "scan": {"ui:options": {"accept": ".pdf"}}}
    response = designer.post("/designer/api/form-preview", json={
        "schema": json.dumps(PREVIEWED), "ui": json.dumps(ui)})
    assert response.status_code == 200
    html = response.get_json()["html"]
    names = re.findall(r'data-field="([^"]+)"', html)
    assert names == ["notes", "kind", "received_on", "count", "scan"]
    assert '<option value="card">购物卡</option>' in html
    assert re.search(r'type="date"[^>]*name="received_on"', html)
    assert re.search(r'name="count" value="2"', html)
    assert re.search(r'type="file"[^>]*name="scan"[^>]*accept=".pdf"', html)
    assert "<textarea" in html and "写明经过" in html


def test_the_preview_of_an_invalid_schema_says_why(designer: FlaskClient) -> None:
    response = designer.post("/designer/api/form-preview", json={
        "schema": '{"type": "object", "properties": {"a": {"type": "tuple"}}}'})
    assert response.status_code == 422
    assert "properties/a/type" in response.get_json()["message"]
    assert designer.post("/designer/api/form-preview", json={}).status_code == 400


def test_a_non_designer_gets_no_preview(org: Org, client: FlaskClient,
                                        auth: AuthActions) -> None:
    auth.login("czj-0011")
    response = client.post("/designer/api/form-preview", json={"schema": "{}"})
    assert response.status_code == 403
