"""The live preview of a user task's form in the BPMN editor: POST …/api/form-preview with
the schema and ui-schema texts answers the form as the task page would render it — the same
``schema_form`` fields and the same ``tasks/_form.html`` macros, prefilled with the schema's
defaults — so a designer sees what a user will get before deploying. Nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import jsonify, render_template, request
from flask_babel import gettext as _

from engine.errors import DeploymentError
from engine.forms import compile_form, normalise
from engine.parsing import MAX_SOURCE_BYTES

from ..tasks import schema_form
from ..tasks.form_state import FormState
from . import bp


class PreviewSchema(ma.Schema):
    schema = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=MAX_SOURCE_BYTES))
    ui = ma.fields.String(load_default="", validate=ma.validate.Length(max=MAX_SOURCE_BYTES))


def _ui(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"the ui-schema is not valid JSON: {exc.msg} at line "
                              f"{exc.lineno}") from None
    if not isinstance(value, dict):
        raise DeploymentError("the ui-schema must be one JSON object ({…})")
    return value


@bp.post("/api/form-preview")
def api_form_preview() -> Any:
    try:
        body = PreviewSchema().load(request.get_json(silent=True) or {})
    except ma.ValidationError as err:
        return jsonify(ok=False, code="validation_failed",
                       message=_("The request is not a form to preview."),
                       errors=err.messages), 400
    try:
        compile_form(body["schema"])  # what deploy demands of it
        ui = _ui(body["ui"])
    except DeploymentError as exc:
        return jsonify(ok=False, message=_("The form cannot be shown: %(reason)s",
                                           reason=exc.message)), 422
    fields = schema_form.build(normalise(json.loads(body["schema"])), ui)
    html = render_template("designer/_form_preview.html", fields=fields,
                           state=FormState(fields, schema_form.defaults(fields)),
                           dom_id=schema_form.dom_id)
    return jsonify(ok=True, html=html)
