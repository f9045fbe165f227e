"""Importing and exporting the organisation (format: ``engine.programme.orgfile``).

All or nothing: every row is checked first — one row alone (``engine.programme.orgschema``), then
against the other rows and the database — and every problem is reported as (sheet, row,
column, reason) in one ``ImportRejected``; only a clean file is written. Rows are matched by
code, so a re-import updates in place and the report says what was created, what changed
(old → new) and what was already so. Rows absent from the file are left alone: a file may
carry just the posts of one department.

The checks are the leadership rules of the source: "由单位主要领导负责" (a unit has one
principal), "单位分管领导直接管理 / 负责" and "内设机构领导直接管理和负责" (every department has a
head and a deputy in charge) — and all of them must be officials of that very unit, or the
responsibility would be routed to someone outside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...db import UnitOfWork
from ...errors import Conflict, ValidationFailed
from ..models import POST_ATTRIBUTES, Department, Official, Post, Unit
from ..orgfile import KIND_NAMES, RowError, Tables, read_csv, read_xlsx, write_csv, write_xlsx
from ..orgschema import SCHEMAS

Row = dict[str, Any]
#: kind → code → row in file terms (codes for references, bools for yes/no columns).
Snapshot = dict[str, dict[str, Row]]

_SINGULAR = {"units": "unit", "officials": "official", "departments": "department",
             "posts": "post"}


class ImportRejected(ValidationFailed):
    """The file had problems; nothing was written. ``rows`` lists every one of them."""

    def __init__(self, rows: list[RowError]) -> None:
        grouped: dict[str, list[str]] = {}
        for e in rows:
            grouped.setdefault(f"{e.sheet}:{e.row}:{e.column}", []).append(e.reason)
        errors: dict[str, object] = {key: reasons for key, reasons in grouped.items()}
        super().__init__(f"{len(rows)} problem(s) in the organisation file; nothing was "
                         "imported", errors)
        self.rows = rows


@dataclass(frozen=True)
class FieldChange:
    column: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RowChange:
    kind: str
    code: str
    changes: tuple[FieldChange, ...]


@dataclass
class ImportReport:
    created: list[tuple[str, str]] = field(default_factory=list)
    updated: list[RowChange] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated),
                "unchanged": len(self.unchanged)}


# ----------------------------------------------------------------------------- snapshot


def snapshot(uow: UnitOfWork) -> Snapshot:
    """The whole organisation as rows, in four queries (no per-row loading)."""
    s = uow.session
    officials = list(s.scalars(select(Official).order_by(Official.code)))
    units = list(s.scalars(select(Unit).order_by(Unit.code)))
    departments = list(s.scalars(select(Department).order_by(Department.code)))
    official_code = {o.id: o.code for o in officials}
    unit_code = {u.id: u.code for u in units}
    department_code = {d.id: d.code for d in departments}

    def ref(key: int | None) -> str | None:
        return official_code.get(key) if key is not None else None

    return {
        "units": {u.code: {"code": u.code, "name": u.name,
                           "principal_code": ref(u.principal_id),
                           "discipline_officer_code": ref(u.discipline_officer_id)}
                  for u in units},
        "officials": {o.code: {"code": o.code, "name": o.name,
                               "unit_code": unit_code[o.unit_id]} for o in officials},
        "departments": {d.code: {"code": d.code, "unit_code": unit_code[d.unit_id],
                                 "name": d.name, "head_code": ref(d.head_id),
                                 "deputy_in_charge_code": ref(d.deputy_in_charge_id)}
                        for d in departments},
        "posts": {p.code: {"code": p.code, "department_code": department_code[p.department_id],
                           "name": p.name, "holder_code": ref(p.holder_id),
                           **p.attributes()}
                  for p in s.scalars(select(Post).order_by(Post.code))},
    }


def export_rows(uow: UnitOfWork) -> dict[str, list[Row]]:
    return {kind: list(rows.values()) for kind, rows in snapshot(uow).items()}


def export_xlsx(uow: UnitOfWork, *, chinese: bool = False) -> bytes:
    return write_xlsx(export_rows(uow), chinese=chinese)


def export_csv(uow: UnitOfWork, *, chinese: bool = False) -> dict[str, bytes]:
    return write_csv(export_rows(uow), chinese=chinese)


# ----------------------------------------------------------------------------- checking


@dataclass
class _Plan:
    """The file's rows (valid parts only), the merged organisation, and every problem."""

    db: Snapshot
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)
    line: dict[tuple[str, str], int] = field(default_factory=dict)
    merged: Snapshot = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def error(self, kind: str, code: str, column: str, reason: str) -> None:
        self.errors.append(RowError(kind, self.line[(kind, code)], column, reason))


def _load_rows(plan: _Plan, tables: Tables) -> None:
    """Per-row checks; a row's valid cells still take part, so one bad cell does not make
    every row that refers to it fail too."""
    for kind in KIND_NAMES:
        plan.rows[kind] = {}
        table = tables.tables.get(kind)
        if table is None:
            continue
        # A required column missing from the header is reported once, not on every row.
        absent = tuple(c.name for c in table.kind.columns if c.name not in table.columns)
        for number, cells in table.rows:
            data: dict[str, str | None] = {
                k: (v or None) if k.endswith("_code") else v for k, v in cells.items()
                if v or not table.kind.column(k).required}
            try:
                row = SCHEMAS[kind]().load(data, partial=absent)
            except ValidationError as exc:
                row = dict(exc.valid_data) if isinstance(exc.valid_data, dict) else {}
                for column, reasons in sorted(exc.normalized_messages().items()):
                    plan.errors.extend(RowError(kind, number, column, str(r)) for r in reasons)
            row_code = row.get("code") or cells.get("code")
            if not row_code:
                continue
            if (kind, row_code) in plan.line:
                plan.errors.append(RowError(
                    kind, number, "code", f"duplicate {_SINGULAR[kind]} code '{row_code}' "
                    f"(first at row {plan.line[(kind, row_code)]})"))
                continue
            plan.line[(kind, row_code)] = number
            plan.rows[kind][row_code] = row
    plan.merged = {kind: {**plan.db[kind],
                          **{c: {**plan.db[kind].get(c, {}), **r}
                             for c, r in plan.rows[kind].items()}}
                   for kind in KIND_NAMES}


def _check_parents(plan: _Plan) -> None:
    m = plan.merged
    for kind, column, parent in (("officials", "unit_code", "units"),
                                 ("departments", "unit_code", "units"),
                                 ("posts", "department_code", "departments")):
        for row_code, row in plan.rows[kind].items():
            value = row.get(column)
            if value is not None and value not in m[parent]:
                plan.error(kind, row_code, column,
                           f"unknown {_SINGULAR[parent]} '{value}'")


def _leader_refs(plan: _Plan) -> list[tuple[str, str, str, str | None, str]]:
    """Every (kind, code, column, official code, the unit that official must belong to)."""
    m = plan.merged
    refs: list[tuple[str, str, str, str | None, str]] = []
    for unit_code, u in m["units"].items():
        refs += [("units", unit_code, c, u.get(c), unit_code)
                 for c in ("principal_code", "discipline_officer_code")]
    for dept_code, d in m["departments"].items():
        refs += [("departments", dept_code, c, d.get(c), d.get("unit_code", ""))
                 for c in ("head_code", "deputy_in_charge_code")]
    for post_code, p in m["posts"].items():
        dept = m["departments"].get(p.get("department_code") or "")
        if dept is not None:
            refs.append(("posts", post_code, "holder_code", p.get("holder_code"),
                         dept.get("unit_code", "")))
    return refs


def _check_leaders(plan: _Plan) -> None:
    """Leaders and holders must be officials of the unit concerned. A row that did not
    change can be broken by one that did (an official moved to another unit): the error then
    goes to the changed row."""
    m = plan.merged
    for kind, row_code, column, official, unit in _leader_refs(plan):
        if official is None or not unit:
            continue
        person = m["officials"].get(official)
        in_file = (kind, row_code) in plan.line and column in plan.rows[kind][row_code]
        if person is None:
            if in_file:
                plan.error(kind, row_code, column, f"unknown official '{official}'")
            continue
        if person.get("unit_code") in (unit, None):
            continue
        reason = (f"{column.removesuffix('_code').replace('_', ' ')} must be an official of "
                  f"unit '{unit}'; {official} ({person.get('name')}) is an official of "
                  f"unit '{person.get('unit_code')}'")
        if in_file or (kind, row_code) in plan.line:
            plan.error(kind, row_code, column, reason)
        elif ("officials", official) in plan.line:
            plan.error("officials", official, "unit_code",
                       f"{_SINGULAR[kind]} {row_code} (not in this file) names {official} as "
                       f"{column.removesuffix('_code')}: {reason}")
        elif kind == "posts":
            dept = m["posts"][row_code]["department_code"]
            if ("departments", dept) in plan.line:
                plan.error("departments", dept, "unit_code",
                           f"post {row_code} (not in this file): {reason}")


def _check(uow: UnitOfWork, tables: Tables) -> _Plan:
    plan = _Plan(db=snapshot(uow), errors=list(tables.errors))
    if not tables.tables and not tables.errors:
        raise ValidationFailed("the file holds no organisation table (expected sheets or CSV "
                               "files named " + ", ".join(KIND_NAMES) + ")")
    _load_rows(plan, tables)
    _check_parents(plan)
    _check_leaders(plan)
    plan.errors.sort(key=lambda e: (KIND_NAMES.index(e.sheet) if e.sheet in KIND_NAMES
                                    else -1, e.row, e.column))
    return plan


# ----------------------------------------------------------------------------- applying


def _report(plan: _Plan) -> ImportReport:
    report = ImportReport()
    for kind in KIND_NAMES:
        for row_code, row in plan.rows[kind].items():
            old = plan.db[kind].get(row_code)
            if old is None:
                report.created.append((kind, row_code))
                continue
            changes = tuple(FieldChange(c, old.get(c), v) for c, v in row.items()
                            if old.get(c) != v)
            if changes:
                report.updated.append(RowChange(kind, row_code, changes))
            else:
                report.unchanged.append((kind, row_code))
    return report


_REFS = {"principal_code": "principal", "discipline_officer_code": "discipline_officer",
         "head_code": "head", "deputy_in_charge_code": "deputy_in_charge",
         "holder_code": "holder"}


_MODELS: dict[str, Any] = {
    "units": Unit, "officials": Official, "departments": Department, "posts": Post}


class _Writer:
    """Applies checked rows through the ORM. Every new object exists before any reference is
    set, and the mapper orders the inserts (a unit, its officials, then its principal key)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.session = uow.session
        self.objects: dict[str, dict[str, Any]] = {
            kind: {o.code: o for o in self.session.scalars(select(model))}
            for kind, model in _MODELS.items()}

    def write(self, rows: dict[str, dict[str, Row]]) -> None:
        for kind in KIND_NAMES:
            for row_code in rows[kind].keys() - self.objects[kind].keys():
                obj = self.objects[kind][row_code] = _MODELS[kind](code=row_code)
                if isinstance(obj, Post):
                    for attribute in POST_ATTRIBUTES:
                        setattr(obj, attribute, False)
                self.session.add(obj)
        for kind in KIND_NAMES:
            for row_code, row in rows[kind].items():
                obj = self.objects[kind][row_code]
                for column, value in row.items():
                    self._set(obj, column, value)

    def _set(self, obj: Any, column: str, value: Any) -> None:
        if column == "code":
            return
        if column == "unit_code":
            obj.unit = self.objects["units"][value]
        elif column == "department_code":
            obj.department = self.objects["departments"][value]
        elif column in _REFS:
            setattr(obj, _REFS[column],
                    None if value is None else self.objects["officials"][value])
        else:
            setattr(obj, column, value)


def import_organisation(uow: UnitOfWork, tables: Tables, *,
                        dry_run: bool = False) -> ImportReport:
    """Check every row, then (unless ``dry_run``) write them all in one transaction."""
    plan = _check(uow, tables)
    if plan.errors:
        raise ImportRejected(plan.errors)
    report = _report(plan)
    if dry_run or not (report.created or report.updated):
        return report
    _Writer(uow).write(plan.rows)
    try:
        uow.session.flush()
    except IntegrityError as exc:  # another import created the same code meanwhile
        raise Conflict("the organisation changed while importing; import again") from exc
    uow.commit()
    return report


def import_xlsx(uow: UnitOfWork, data: bytes, *, dry_run: bool = False) -> ImportReport:
    return import_organisation(uow, read_xlsx(data), dry_run=dry_run)


def import_csv(uow: UnitOfWork, files: Mapping[str, bytes], *,
               dry_run: bool = False) -> ImportReport:
    return import_organisation(uow, read_csv(files), dry_run=dry_run)
