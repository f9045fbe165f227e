"""GET /definitions, GET /definitions/<process_id>: the deployed processes and their
versions. Every signed-in user may read them (they say what a task belongs to)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine.errors import NotFound
from engine.services import deployment

from ..runtime import runtime
from .base import Blueprint

bp = Blueprint("definitions", __name__, url_prefix="/definitions",
               description="Deployed process definitions and their versions")


class VersionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    version = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    deployed_at = ma.fields.DateTime(required=True)
    deployed_by = ma.fields.String(allow_none=True)
    instances = ma.fields.Integer(required=True, metadata={"description": "instances started"})


class DefinitionSchema(ma.Schema):
    process_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "of the latest version"})
    latest_version = ma.fields.Integer(required=True)
    versions = ma.fields.Integer(required=True, metadata={"description": "how many"})


class DefinitionDetailSchema(ma.Schema):
    process_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    latest_version = ma.fields.Integer(required=True)
    versions = ma.fields.List(ma.fields.Nested(VersionSchema), required=True)


def _by_process() -> dict[str, list[Any]]:
    with runtime().uow(write=False) as uow:
        rows = deployment.list_definitions(uow)
    grouped: dict[str, list[Any]] = {}
    for row in rows:  # ordered by process id, then version
        grouped.setdefault(row.process_id, []).append(row)
    return grouped


@bp.route("")
@bp.response(200, DefinitionSchema(many=True))
@bp.refuses(401)
def list_definitions() -> Any:
    """Every deployed process, with its latest version"""
    return [{"process_id": pid, "name": rows[-1].name, "latest_version": rows[-1].version,
             "versions": len(rows)} for pid, rows in _by_process().items()]


@bp.route("/<process_id>")
@bp.response(200, DefinitionDetailSchema)
@bp.refuses(401, 404)
def get_definition(process_id: str) -> Any:
    """One process with all its versions, oldest first"""
    rows = _by_process().get(process_id)
    if not rows:
        raise NotFound(f"no process '{process_id}' is deployed")
    return {"process_id": process_id, "name": rows[-1].name,
            "latest_version": rows[-1].version, "versions": rows}
