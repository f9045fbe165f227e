"""Forms generated from a formSchema (web/tasks/schema_form.py, form_values.py and
form_state.py) without a database: the fields of every form in bpmn/, labels from
descriptions, posted forms read back as typed, rows added, removed and compacted, engine
errors keyed by path and said in Chinese."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import MultiDict

from engine.errors import ValidationFailed
from engine.forms import compile_form, validate_task_data
from engine.settings import Settings
from tests.conftest import BPMN_DIR
from web.tasks import form_state, form_values, schema_form
from web.tasks.form_state import FormState

from .conftest import make_app

DISCOVERY = {"type": "object", "required": ["risks"], "properties": {"risks": {
    "type": "array", "title": "廉政风险点", "minItems": 1, "items": {
        "type": "object", "required": ["category", "description"], "properties": {
            "category": {"type": "string", "title": "风险类别", "enum": ["duty", "process"],
                         "description": "duty=岗位职责风险; process=业务流程风险"},
            "description": {"type": "string", "title": "风险描述", "maxLength": 2000},
            "measures": {"type": "array", "title": "措施", "items": {"type": "string"}}}}}}}


def schemas_in_bpmn() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        for raw in re.findall(r'name="formSchema" value="([^"]+)"', path.read_text("utf-8")):
            schema = json.loads(html.unescape(raw))
            found.append((f"{path.stem}:{schema.get('title')}", schema))
    return found


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings)
    yield app
    app.extensions["irpm"].close()


@pytest.mark.parametrize("name,schema", schemas_in_bpmn(), ids=[n for n, _ in schemas_in_bpmn()])
def test_every_form_in_bpmn_renders_and_an_empty_submission_is_explained_at_its_fields(
        app: Flask, name: str, schema: dict[str, Any]) -> None:
    fields = schema_form.build(schema)
    assert fields, name
    data = form_values.to_data(fields, form_values.parse(fields, MultiDict()))
    try:
        validate_task_data(data, compile_form(json.dumps(schema)),
                           max_bytes=1 << 20)
        errors: dict[str, Any] = {}
    except ValidationFailed as exc:
        errors = exc.errors
    with app.test_request_context():
        state = FormState.with_errors(fields, {}, errors)
        assert state.general == [], name  # every error has its input
        page = render_template_string(
            '{% from "tasks/_form.html" import field with context %}'
            '{% for f in fields %}{{ field(f, f.name, state) }}{% endfor %}',
            fields=fields, state=state, dom_id=schema_form.dom_id)
    for path in state.errors:
        assert f'id="{schema_form.dom_id(path)}-errors"' in page, (name, path)
    for path, f in schema_form.walk(fields):
        if f.kind not in ("array", "object") and "[]" not in path:
            assert f'name="{path}"' in page, (name, path)


def test_enum_labels_come_from_the_description_only_when_complete() -> None:
    [f] = schema_form.build({"properties": {"harm": {
        "type": "string", "enum": ["crime", "minor"],
        "description": "crime=可能触犯法律、构成犯罪; minor=不良社会影响"}}})
    assert (f.kind, f.choices, f.help) == (
        "select", [("crime", "可能触犯法律、构成犯罪"), ("minor", "不良社会影响")], None)
    [g] = schema_form.build({"properties": {"x": {
        "type": "string", "enum": ["a", "b"], "description": "a=甲"}}})
    assert g.choices == [("a", "a"), ("b", "b")] and g.help == "a=甲"
    [h] = schema_form.build({"properties": {"score": {
        "type": "integer", "minimum": 0, "maximum": 100, "description": "0-100分"}}})
    assert h.kind == "integer" and h.help == "0-100分"


def test_posted_rows_are_read_in_index_order_compacted_and_typed() -> None:
    fields = schema_form.build(DISCOVERY)
    form = MultiDict({
        "risks.10._row": "1", "risks.10.category": "process", "risks.10.description": "乙",
        "risks.2._row": "1", "risks.2.category": "duty", "risks.2.description": "甲",
        "risks.2.measures.0._row": "1", "risks.2.measures.0": "轮岗",
        "risks.2.measures.1._row": "1", "risks.2.measures.1": " ",
        "risks.5._row": "1", "risks.5.description": "  ",
        "risks.x.category": "ignored", "other": "ignored"})
    raw = form_values.parse(fields, form)
    assert [r["description"] for r in raw["risks"]] == ["甲", "  ", "乙"]
    compacted = form_values.compact(fields, raw)
    assert [r["description"] for r in compacted["risks"]] == ["甲", "乙"]
    assert compacted["risks"][0]["measures"] == ["轮岗"]
    assert form_values.to_data(fields, compacted) == {"risks": [
        {"category": "duty", "description": "甲", "measures": ["轮岗"]},
        {"category": "process", "description": "乙", "measures": []}]}
    skipped = form_values.parse(fields, form, skip="risks.2")
    assert [r["description"] for r in skipped["risks"]] == ["  ", "乙"]


def test_rows_are_added_only_where_the_schema_has_a_list() -> None:
    fields = schema_form.build(DISCOVERY)
    raw: dict[str, Any] = {"risks": [{"category": "duty", "description": "甲", "measures": []}]}
    assert form_values.add_row(fields, raw, "risks")
    assert form_values.add_row(fields, raw, "risks.0.measures")
    assert raw["risks"][1] == {"category": "", "description": "", "measures": []}
    assert raw["risks"][0]["measures"] == [""]
    for bad in ("nowhere", "risks.0", "risks.7.measures", "risks.0.category", "risks.x"):
        assert not form_values.add_row(fields, raw, bad), bad


def test_engine_errors_are_keyed_by_path_and_said_in_the_users_language(app: Flask) -> None:
    fields = schema_form.build(DISCOVERY)
    form = compile_form(json.dumps(DISCOVERY))
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"risks": [{"category": "duty", "description": "x"},
                                      {"category": "nope", "description": "y" * 2001}]},
                           form, max_bytes=1 << 20)
    assert form_state.flatten_errors(caught.value.errors) == {
        "risks.1.category": ["Must be one of: duty, process."],
        "risks.1.description": ["Longer than maximum length 2000."]}
    with app.test_request_context():
        state = FormState.with_errors(fields, {}, caught.value.errors)
        assert state.errors == {"risks.1.category": ["请从选项中选择。"],
                                "risks.1.description": ["最多输入 2000 个字。"]}
        state = FormState.with_errors(fields, {}, {"risks": ["Shorter than minimum length 1."],
                                                   "_schema": ["too large"]})
        assert state.errors == {"risks": ["请至少添加 1 项。"]}
        assert state.general == ["填写的内容过多，无法提交。"]
        said = form_state.describe(None, ["Not a valid integer.",
                                           "Must be greater than or equal to 1 and less than "
                                           "or equal to 3.", "Something new."])
        assert said == ["请输入整数。", "请输入 1 至 3 之间的数。", "Something new."]
        assert form_state.describe(None, ["Shorter than minimum length 1.",
                                           "Missing data for required field."]) == [
            "此项为必填项。"]
