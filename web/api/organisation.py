"""The organisation: units, their departments and posts, a post with its leaders — for the
units the caller's role covers (``scope.covers_unit``) — and, for administrators, the
CSV export and import (all or nothing, every problem named by sheet, row and column)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote

import marshmallow as ma
from flask import Response
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from engine.programme.models import POST_ATTRIBUTES
from engine.programme.services import org_import, organisation

from ..runtime import runtime
from .base import Blueprint, NamedSchema, actor, named, require
from .errors import ApiError
from .scope import covers_unit

bp = Blueprint("organisation", __name__, url_prefix="",
               description="Units, departments, posts and leaders; CSV export and import")

KINDS = ("units", "officials", "departments", "posts")
MAX_IMPORT_BYTES = 5 * 1024 * 1024
NOT_COVERED = "Your role does not cover this unit."
ADMIN_ONLY = "Only administrators may export or import the organisation."
F = TypeVar("F", bound=Callable[..., Any])


class UnitSchema(NamedSchema):
    principal = ma.fields.Nested(NamedSchema, allow_none=True)
    discipline_officer = ma.fields.Nested(NamedSchema, allow_none=True)


class DepartmentSchema(NamedSchema):
    head = ma.fields.Nested(NamedSchema, allow_none=True)
    deputy_in_charge = ma.fields.Nested(NamedSchema, allow_none=True)


class PostSchema(NamedSchema):
    department = ma.fields.Nested(NamedSchema, required=True)
    holder = ma.fields.Nested(NamedSchema, allow_none=True)
    attributes = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(
        POST_ATTRIBUTES)), values=ma.fields.Boolean(), required=True)


class LeadersSchema(ma.Schema):
    """Login names (null: the position is vacant or has no active login)."""

    holder = ma.fields.String(allow_none=True)
    department_head = ma.fields.String(allow_none=True)
    deputy_in_charge = ma.fields.String(allow_none=True)
    principal = ma.fields.String(allow_none=True)
    discipline_officer = ma.fields.String(allow_none=True)


class PostDetailSchema(PostSchema):
    unit = ma.fields.Nested(NamedSchema, required=True)
    leaders = ma.fields.Nested(LeadersSchema, required=True)


class ExportArgs(ma.Schema):
    chinese = ma.fields.Boolean(load_default=False,
                                metadata={"description": "Chinese column headers"})


class ImportFiles(ma.Schema):
    units = Upload()
    officials = Upload()
    departments = Upload()
    posts = Upload()


class ImportForm(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False,
                                metadata={"description": "check only, write nothing"})


class ImportChangeSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    changes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), required=True,
                             metadata={"description": "column → {old, new}"})


class ImportReportSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    created = ma.fields.List(ma.fields.Dict(keys=ma.fields.String(),
                                            values=ma.fields.String()), required=True)
    updated = ma.fields.List(ma.fields.Nested(ImportChangeSchema), required=True)


def _unit(unit: Any) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "principal": named(unit.principal),
            "discipline_officer": named(unit.discipline_officer)}


def _covered(unit_code: str) -> None:
    require(covers_unit(actor(), unit_code), NOT_COVERED)


@bp.route("/units")
@bp.response(200, UnitSchema(many=True))
@bp.refuses(401)
def list_units() -> Any:
    """The units the caller's role covers (every unit for administrators and the city's
    discipline commission)"""
    who = actor()
    with runtime().uow(write=False) as uow:
        return [_unit(u) for u in organisation.list_units(uow) if covers_unit(who, u.code)]


@bp.route("/units/<code>")
@bp.response(200, UnitSchema)
@bp.refuses(401, 403, 404)
def get_unit(code: str) -> Any:
    """One unit with its principal and discipline officer"""
    with runtime().uow(write=False) as uow:
        unit = organisation.get_unit(uow, code)
        _covered(unit.code)
        return _unit(unit)


@bp.route("/units/<code>/departments")
@bp.response(200, DepartmentSchema(many=True))
@bp.refuses(401, 403, 404)
def unit_departments(code: str) -> Any:
    """A unit's departments (内设机构) with their heads and deputies in charge"""
    with runtime().uow(write=False) as uow:
        departments = organisation.departments_of(uow, code)
        _covered(code)
        return [{"code": d.code, "name": d.name, "head": named(d.head),
                 "deputy_in_charge": named(d.deputy_in_charge)} for d in departments]


def _post(post: Any) -> dict[str, Any]:
    return {"code": post.code, "name": post.name, "department": named(post.department),
            "holder": named(post.holder), "attributes": post.attributes()}


@bp.route("/units/<code>/posts")
@bp.response(200, PostSchema(many=True))
@bp.refuses(401, 403, 404)
def unit_posts(code: str) -> Any:
    """Every post of a unit, by department"""
    with runtime().uow(write=False) as uow:
        posts = organisation.posts_of(uow, code)
        _covered(code)
        return [_post(p) for p in posts]


@bp.route("/posts/<code>")
@bp.response(200, PostDetailSchema)
@bp.refuses(401, 403, 404)
def get_post(code: str) -> Any:
    """One post with the leaders who answer for it"""
    with runtime().uow(write=False) as uow:
        post = organisation.get_post(uow, code)
        unit = post.department.unit
        _covered(unit.code)
        leaders = organisation.leaders_for(uow, code)
        return {**_post(post), "unit": named(unit), "leaders": vars(leaders)}


@bp.route("/organisation/export/<any(units, officials, departments, posts):kind>")
@bp.arguments(ExportArgs, location="query")
@bp.response(200, {"type": "string", "format": "binary"}, content_type="text/csv")
@bp.refuses(401, 403)
def export(args: dict[str, Any], kind: str) -> Response:
    """One table of the organisation as CSV (UTF-8 with BOM), as the import reads it"""
    require(actor().is_admin, ADMIN_ONLY)
    with runtime().uow(write=False) as uow:
        files = org_import.export_csv(uow, chinese=args["chinese"])
    index = KINDS.index(kind)
    name, data = list(files.items())[index]
    ascii_name = f"{kind}.csv"
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={ascii_name}; "
                               f"filename*=UTF-8''{quote(name)}"})


def _read(files: dict[str, FileStorage]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for kind, storage in files.items():
        data = storage.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise ApiError(422, "validation_failed", "A file is too large.",
                           errors={kind: [f"at most {MAX_IMPORT_BYTES} bytes"]})
        out[f"{kind}.csv"] = data
    if not out:
        raise ApiError(422, "validation_failed", "Send at least one table.",
                       errors={kind: ["a CSV file"] for kind in KINDS})
    return out


def _administrators(view: F) -> F:
    """Refuse anyone but an administrator (403) before the request's fields are validated:
    what an import would have said of them is for administrators only."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        require(actor().is_admin, ADMIN_ONLY)
        return view(*args, **kwargs)
    return cast(F, guarded)


@bp.route("/organisation/import", methods=["POST"])
@_administrators
@bp.arguments(ImportFiles, location="files")
@bp.arguments(ImportForm, location="form")
@bp.response(200, ImportReportSchema)
@bp.refuses(401, 403, 409, 422)
def import_csv(files: dict[str, FileStorage], form: dict[str, Any]) -> Any:
    """Import CSV tables (multipart: units, officials, departments, posts — any of them);
    all or nothing"""
    tables = _read(files)
    with runtime().uow() as uow:
        report = org_import.import_csv(uow, tables, dry_run=form["dry_run"])
    return {"dry_run": form["dry_run"], "counts": report.counts(),
            "created": [{"kind": kind, "code": code} for kind, code in report.created],
            "updated": [{"kind": c.kind, "code": c.code, "changes": {
                f.column: {"old": f.old, "new": f.new} for f in c.changes}}
                for c in report.updated]}
