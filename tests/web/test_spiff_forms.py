"""Forms as the SpiffArena ecosystem writes them (issue 12, point 5): the
``formJsonSchemaFilename`` / ``formUiSchemaFilename`` files deployed beside the BPMN and kept
with the deployed version (engine/form_files.py), the JSON Schema spellings
react-jsonschema-form renders (``$ref``/``definitions``, ``oneOf``/``anyOf`` of ``const``,
``default``, ``format: date``/``date-time``, ``readOnly``; engine/forms.py ``normalise``) and
the common ui-schema keys (web/tasks/schema_form.py), validated by the engine as before.

The model is tests/conformance/models/forms/gift_report.bpmn with its two JSON files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from engine.errors import DeploymentError, ValidationFailed
from engine.forms import compile_form, normalise, validate_task_data
from engine.models import HumanTask, ProcessDefinition, SourceFile
from engine.parsing import Source, read_sources
from engine.runtime import Runtime
from engine.services import deployment, instances, task_forms, tasks
from tests.conftest import ADMIN
from web.tasks import form_state, form_values, schema_form

from . import conftest as web
from .conftest import AuthActions, Org

MODELS = Path(__file__).parents[1] / "conformance" / "models" / "forms"
HOLDER = "czj-0011"  # the task's candidate user (an account of tests/inbox_org.py)


def gift_sources(schema: dict[str, Any] | None = None) -> list[Source]:
    sources = read_sources([MODELS])
    if schema is not None:
        sources = [Source(s.filename, json.dumps(schema).encode()) if
                   s.filename == "gift-schema.json" else s for s in sources]
    return sources


def deploy(rt: Runtime, sources: list[Source]) -> list[deployment.DeployedProcess]:
    with rt.uow() as uow:
        return deployment.deploy(uow, sources, deployed_by="tests")


def start(rt: Runtime) -> HumanTask:
    with rt.uow() as uow:
        instance_id = instances.start_instance(uow, "gift_report", None, {}, actor=ADMIN).id
    with rt.uow(write=False) as uow:
        [task] = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id))
        return task


def schema_file() -> dict[str, Any]:
    return dict(json.loads((MODELS / "gift-schema.json").read_text("utf-8")))


def ui_file() -> dict[str, Any]:
    return dict(json.loads((MODELS / "gift-uischema.json").read_text("utf-8")))


GOOD = {"giver": "某公司", "kind": "goods", "received_on": "2026-03-01"}


# ------------------------------------------------------------------------ (a) form files


def test_a_directory_deploys_with_its_form_files_and_the_task_validates_against_them(
        rt: Runtime) -> None:
    assert {s.filename for s in gift_sources()} == {
        "gift_report.bpmn", "gift-schema.json", "gift-uischema.json"}
    [deployed] = deploy(rt, gift_sources())
    with rt.uow(write=False) as uow:
        row = uow.session.get(ProcessDefinition, deployed.definition_id)
        assert row is not None
        assert sorted((s.filename, s.kind) for s in row.sources) == [
            ("gift-schema.json", "json"), ("gift-uischema.json", "json"),
            ("gift_report.bpmn", "bpmn")]
    task = start(rt)
    with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
        tasks.complete_task(uow, task.id, ADMIN, {**GOOD, "received_on": "2026-02-30"})
    assert set(caught.value.errors) == {"received_on"}
    with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
        tasks.complete_task(uow, task.id, ADMIN, {**GOOD, "kind": "bribe"})
    assert set(caught.value.errors) == {"kind"}
    with rt.uow() as uow:
        done = tasks.complete_task(uow, task.id, ADMIN, {**GOOD, "handling": "returned",
                                                         "reported_at": "2026-03-02T09:30"})
    assert done.status == "completed"


def test_a_missing_form_file_is_refused_naming_task_and_file_and_nothing_is_stored(
        rt: Runtime) -> None:
    sources = [s for s in gift_sources() if s.filename != "gift-uischema.json"]
    with pytest.raises(DeploymentError) as caught:
        deploy(rt, sources)
    message = str(caught.value)
    assert "登记礼品" in message and "report" in message
    assert "formUiSchemaFilename 'gift-uischema.json'" in message
    with rt.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0
        assert uow.session.scalar(select(func.count()).select_from(SourceFile)) == 0


@pytest.mark.parametrize("content,said", [
    (b"{not json", "not a valid JSON file"),
    (b"[1, 2]", "must hold one JSON object"),
    (b'{"type": "object", "properties": {"a": {"type": "tuple"}}}',
     "not valid at properties/a/type"),
    (b'{"type": "object", "properties": {"a": {"$ref": "#/definitions/nope"}}}',
     "points to nothing"),
])
def test_a_bad_schema_file_is_refused_with_its_name(rt: Runtime, content: bytes,
                                                    said: str) -> None:
    sources = [Source(s.filename, content) if s.filename == "gift-schema.json" else s
               for s in gift_sources()]
    with pytest.raises(DeploymentError) as caught:
        deploy(rt, sources)
    assert said in str(caught.value)
    assert caught.value.filename == "gift-schema.json"


def test_a_changed_form_file_is_a_new_version_and_a_running_instance_keeps_its_form(
        rt: Runtime) -> None:
    [first] = deploy(rt, gift_sources())
    old_task = start(rt)
    changed = schema_file()
    changed["required"] = [*changed["required"], "notes"]
    [second] = deploy(rt, gift_sources(changed))
    assert (second.version, second.created) == (2, True)
    [again] = deploy(rt, gift_sources(changed))
    assert (again.version, again.created) == (2, False)
    with rt.uow(write=False) as uow:
        old_form = task_forms.task_form(uow, old_task)
    assert old_form.schema is not None and "notes" not in old_form.schema["required"]
    assert old_form.ui_schema["ui:order"] == ["kind", "giver", "*"]
    assert "formUiSchema" not in old_form.properties
    with rt.uow() as uow:  # the old instance completes without the newly required field
        assert tasks.complete_task(uow, old_task.id, ADMIN, GOOD).status == "completed"
    new_task = start(rt)
    with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
        tasks.complete_task(uow, new_task.id, ADMIN, GOOD)
    assert set(caught.value.errors) == {"notes"}
    assert first.definition_id != second.definition_id


def test_an_inline_schema_and_a_schema_file_on_one_task_are_refused(rt: Runtime) -> None:
    bpmn = (MODELS / "gift_report.bpmn").read_text("utf-8").replace(
        '<spiffworkflow:property name="formJsonSchemaFilename"',
        '<spiffworkflow:property name="formSchema" value="{&quot;type&quot;: '
        '&quot;object&quot;}" /><spiffworkflow:property name="formJsonSchemaFilename"')
    sources = [Source(s.filename, bpmn.encode()) if s.filename.endswith(".bpmn") else s
               for s in gift_sources()]
    with pytest.raises(DeploymentError, match="both an inline formSchema and "
                                              "formJsonSchemaFilename"):
        deploy(rt, sources)


# ------------------------------------------------------------- (b) JSON Schema spellings


def test_refs_and_const_enumerations_are_normalised_for_compiler_and_page() -> None:
    schema = normalise({
        "type": "object",
        "$defs": {"level": {"type": "integer", "anyOf": [{"const": 1, "title": "低"},
                                                          {"const": 2, "title": "高"}]}},
        "properties": {"level": {"$ref": "#/$defs/level", "title": "等级"},
                       "kind": {"oneOf": [{"const": "a", "title": "甲"}, {"const": "b"}]},
                       "free": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}})
    props = schema["properties"]
    assert props["level"] == {"type": "integer", "title": "等级", "enum": [1, 2],
                              "enumNames": ["低", "高"]}
    assert props["kind"] == {"type": "string", "enum": ["a", "b"], "enumNames": ["甲", "b"]}
    assert "anyOf" in props["free"]  # not an enumeration: left as it is
    assert "$defs" not in schema
    form = compile_form(json.dumps(schema))
    assert validate_task_data({"level": 2, "kind": "a"}, form, max_bytes=1000) == {
        "level": 2, "kind": "a"}
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"level": 3, "kind": "c"}, form, max_bytes=1000)
    assert set(caught.value.errors) == {"level", "kind"}


def test_a_ref_to_itself_is_refused_not_followed_forever() -> None:
    with pytest.raises(DeploymentError, match="nests more than"):
        compile_form(json.dumps({"type": "object",
                                 "definitions": {"a": {"$ref": "#/definitions/a"}},
                                 "properties": {"x": {"$ref": "#/definitions/a"}}}))


def gift_fields() -> list[schema_form.Field]:
    return schema_form.build(normalise(schema_file()), ui_file())


def test_the_gift_form_is_laid_out_as_rjsf_would() -> None:
    fields = {f.name: f for f in gift_fields()}
    assert [f.name for f in gift_fields()] == [
        "kind", "giver", "handling", "value", "received_on", "reported_at", "register_no",
        "notes", "secret"]  # ui:order, "*" standing for the rest in schema order
    assert fields["kind"].kind == "select"
    assert fields["kind"].choices == [("cash", "现金"), ("goods", "实物"), ("card", "购物卡")]
    assert fields["handling"].kind == "radio"
    assert fields["received_on"].kind == "date"
    assert fields["reported_at"].kind == "datetime"
    assert fields["register_no"].read_only
    assert fields["notes"].kind == "text" and fields["notes"].rows == 6
    assert fields["secret"].kind == "hidden"
    assert fields["giver"].help == "写明赠送人的姓名和工作单位"
    assert fields["giver"].placeholder_text == "姓名及单位"
    assert schema_form.defaults(gift_fields()) == {
        "kind": "", "giver": "", "handling": "handed_in", "value": "0", "received_on": "",
        "reported_at": "", "register_no": "自动生成", "notes": "", "secret": ""}


def test_ui_order_places_the_rest_where_the_star_stands() -> None:
    names = ["a", "b", "c", "d"]
    assert schema_form.ordered(names, ["c", "*", "a"]) == ["c", "b", "d", "a"]
    assert schema_form.ordered(names, ["d", "nope"]) == ["d", "a", "b", "c"]
    assert schema_form.ordered(names, None) == names


def test_widgets_that_do_not_fit_the_type_are_ignored() -> None:
    [number, flag] = schema_form.build(
        {"type": "object", "properties": {"n": {"type": "integer"}, "f": {"type": "boolean"}}},
        {"n": {"ui:widget": "textarea"}, "f": {"ui:widget": "radio"}})
    assert number.kind == "integer"
    assert flag.kind == "boolean"


def test_a_bad_date_is_said_at_its_field_in_the_users_language(app: Flask) -> None:
    fields = gift_fields()
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({**GOOD, "received_on": "2026-13-01", "reported_at": "yesterday"},
                           compile_form(json.dumps(schema_file())), max_bytes=1 << 20)
    with app.test_request_context():
        state = form_state.FormState.with_errors(fields, {}, caught.value.errors)
    assert state.errors == {"received_on": ["请输入日期（年-月-日）。"],
                            "reported_at": ["请输入日期和时间。"]}


def test_posted_values_of_the_new_widgets_come_back_typed() -> None:
    fields = gift_fields()
    posted = MultiDict({**GOOD, "handling": "returned", "value": "12.5",
                        "reported_at": "2026-03-02T09:30", "register_no": "自动生成",
                        "secret": "x"})
    data = form_values.to_data(fields, form_values.parse(fields, posted))
    assert data == {**GOOD, "handling": "returned", "value": 12.5,
                    "reported_at": "2026-03-02T09:30", "register_no": "自动生成",
                    "secret": "x"}
    validate_task_data(data, compile_form(json.dumps(schema_file())), max_bytes=1 << 20)


# --------------------------------------------------------------------------- the page


@pytest.fixture
def app(settings: Any) -> Iterator[Flask]:
    app = web.make_app(settings)
    yield app
    app.extensions["irpm"].close()


def _input(page: str, name: str) -> str:
    match = re.search(rf'<(input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert match, name
    return match.group(0)


def test_the_task_page_renders_the_file_form_and_the_engine_judges_it(
        org: Org, app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    deploy(org.rt, gift_sources())
    task = start(org.rt)
    auth.login(HOLDER)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert page.index('name="kind"') < page.index('name="giver"') < page.index('name="notes"')
    assert 'type="date"' in _input(page, "received_on")
    assert 'type="datetime-local"' in _input(page, "reported_at")
    assert 'placeholder="姓名及单位"' in _input(page, "giver")
    assert "写明赠送人的姓名和工作单位" in page
    assert 'rows="6"' in _input(page, "notes")
    assert 'type="hidden"' in _input(page, "secret")
    assert "readonly" in _input(page, "register_no")
    assert 'value="自动生成"' in _input(page, "register_no")
    assert re.search(r'type="radio" name="handling" id="[^"]+" value="handed_in"\s+checked',
                     page)
    assert '<option value="card">购物卡</option>' in page
    form = {"action": "submit", "kind": "cash", "giver": "某人", "handling": "handed_in",
            "value": "0", "received_on": "2026-02-30", "reported_at": "", "notes": "",
            "register_no": "自动生成", "secret": ""}
    response = client.post(f"/tasks/{task.id}", data=form)
    assert response.status_code == 400
    assert 'id="f-received_on-errors"' in response.get_data(as_text=True)
    with org.rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, task.id).state == "open"
    response = client.post(f"/tasks/{task.id}", data={**form, "received_on": "2026-02-28",
                                                      "secret": "内部"})
    assert response.status_code == 302
    with org.rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, task.id).state == "completed"
    done = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    submitted = done[done.index('id="submitted"'):]
    submitted = submitted[:submitted.index("</dl>")]
    assert "现金" in submitted and "2026-02-28" in submitted and "上交" in submitted
    assert "内部标记" not in submitted  # the hidden field is not shown


# ------------------------------------------- what jsonschema judges after marshmallow


CONDITIONAL = {
    "type": "object",
    "properties": {
        "handling": {"type": "string", "enum": ["returned", "handed_in"]},
        "returned_on": {"type": "string", "format": "date"},
        "receipt_no": {"type": "string", "pattern": "^[0-9]{6}$"},
        "witness": {"type": "string"},
    },
    "if": {"properties": {"handling": {"const": "returned"}}, "required": ["handling"]},
    "then": {"required": ["returned_on"]},
    "dependencies": {"receipt_no": ["witness"]},
}


@pytest.mark.parametrize("data,errors", [
    ({"handling": "returned"}, {"returned_on": ["Missing data for required field."]}),
    ({"handling": "handed_in", "receipt_no": "123456"},
     {"witness": ["Missing data for required field."]}),
    ({"receipt_no": "12ab", "witness": "王某"}, {"receipt_no": ["'12ab' does not match "
                                                               "'^[0-9]{6}$'"]}),
])
def test_if_then_dependencies_and_patterns_are_judged_by_jsonschema(
        data: dict[str, Any], errors: dict[str, Any]) -> None:
    form = compile_form(json.dumps(CONDITIONAL))
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data(data, form, max_bytes=1000)
    assert caught.value.errors == errors
    ok = {"handling": "returned", "returned_on": "2026-03-01", "receipt_no": "123456",
          "witness": "王某", "notes": None}
    with pytest.raises(ValidationFailed):  # notes is not part of the form
        validate_task_data(ok, form, max_bytes=1000)
    del ok["notes"]
    assert validate_task_data({**ok, "witness": None, "receipt_no": None}, form,
                              max_bytes=1000) == {**ok, "witness": None, "receipt_no": None}


def test_a_schema_jsonschema_rejects_is_refused_at_deploy() -> None:
    with pytest.raises(DeploymentError, match=r"not valid at properties/a/minLength"):
        compile_form(json.dumps({"type": "object",
                                 "properties": {"a": {"type": "string", "minLength": -1}}}))


def test_a_required_field_only_then_demands_is_said_at_its_input(app: Flask) -> None:
    fields = schema_form.build(CONDITIONAL)
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"handling": "returned"}, compile_form(json.dumps(CONDITIONAL)),
                           max_bytes=1000)
    with app.test_request_context():
        state = form_state.FormState.with_errors(fields, {}, caught.value.errors)
    assert state.errors == {"returned_on": ["此项为必填项。"]}


def test_jsonschema_messages_are_said_in_the_users_language(app: Flask) -> None:
    with app.test_request_context():
        said = form_state.describe(None, ["'12ab' does not match '^[0-9]{6}$'",
                                          "'x' is not valid under any of the given schemas",
                                          "'c' is not one of ['a', 'b']",
                                          "'returned' was expected"])
    assert said == ["填写的格式不符合要求。", "填写的内容无效。"]


def test_fields_a_condition_adds_are_shown_and_required_only_under_it() -> None:
    """rjsf's dependent fields: ``dependencies`` with ``oneOf`` members, and ``then``."""
    schema = {
        "type": "object",
        "properties": {"handling": {"type": "string", "enum": ["returned", "handed_in"]}},
        "required": ["handling"],
        "dependencies": {"handling": {"oneOf": [
            {"properties": {"handling": {"const": "returned"},
                            "returned_to": {"type": "string", "title": "退还给"}},
             "required": ["returned_to"]},
            {"properties": {"handling": {"const": "handed_in"}}}]}},
        "if": {"properties": {"handling": {"const": "handed_in"}}},
        "then": {"properties": {"office": {"type": "string", "title": "上交部门"}},
                 "required": ["office"]},
    }
    assert [f.name for f in schema_form.build(normalise(schema))] == [
        "handling", "office", "returned_to"]  # then / else first, then the dependencies
    form = compile_form(json.dumps(schema))
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"handling": "returned"}, form, max_bytes=1000)
    assert caught.value.errors == {"returned_to": ["Missing data for required field."]}
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"handling": "handed_in"}, form, max_bytes=1000)
    assert caught.value.errors == {"office": ["Missing data for required field."]}
    assert validate_task_data({"handling": "returned", "returned_to": "某公司"}, form,
                              max_bytes=1000) == {"handling": "returned", "returned_to": "某公司"}
    assert validate_task_data({"handling": "handed_in", "office": "纪检组"}, form,
                              max_bytes=1000) == {"handling": "handed_in", "office": "纪检组"}


def test_a_jsonschema_error_in_a_row_is_keyed_by_its_row(app: Flask) -> None:
    schema = {"type": "object", "properties": {"gifts": {"type": "array", "items": {
        "type": "object", "properties": {"code": {"type": "string", "pattern": "^G[0-9]+$"}}}}}}
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"gifts": [{"code": "G1"}, {"code": "x"}]},
                           compile_form(json.dumps(schema)), max_bytes=1000)
    assert form_state.flatten_errors(caught.value.errors) == {
        "gifts.1.code": ["'x' does not match '^G[0-9]+$'"]}
    with app.test_request_context():
        state = form_state.FormState.with_errors(schema_form.build(schema), {},
                                                 caught.value.errors)
    assert state.errors == {"gifts.1.code": ["填写的格式不符合要求。"]}
