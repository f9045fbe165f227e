"""Marshmallow schemas for one row of each organisation table (see ``engine.programme.orgfile``).

They check what one row can show on its own — required cells, code syntax, lengths, yes/no
text — and turn text into values. Whether a code exists, or a leader belongs to the right
unit, needs the other rows and the database: ``engine.programme.services.org_import`` checks that.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .orgfile import FALSE_TEXT, TRUE_TEXT

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
EMPTY = "required cell is empty"


class YesNo(fields.Field[bool]):
    """是/否, true/false, 1/0, Y/N, yes/no (any case); an empty cell is 否."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        text = "".join(str(value).split()).lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        raise ValidationError(f"'{value}' is not yes/no (是/否, true/false, 1/0, Y/N)")


def _code(*, required: bool = True, missing: str = EMPTY) -> fields.String:
    """An entity code: it becomes part of group names (``dept:<code>``), so no spaces,
    colons or commas."""
    return fields.String(
        required=required, allow_none=not required,
        validate=validate.Regexp(CODE_PATTERN, error="'{input}' is not a code: letters, "
                                 "digits, '_', '.', '-', at most 64 characters"),
        error_messages={"required": missing})


def _name() -> fields.String:
    return fields.String(required=True, validate=validate.Length(max=255),
                         error_messages={"required": EMPTY})


class UnitRow(Schema):
    code = _code()
    name = _name()
    #: 单位领导班子正职 / 单位主要领导: "由单位主要领导负责" level-1 risks — so never optional.
    principal_code = _code(missing="missing principal (单位主要领导): every unit has one "
                                  "principal, who is responsible for its level-1 risks")
    discipline_officer_code = _code(required=False)


class OfficialRow(Schema):
    code = _code()
    name = _name()
    unit_code = _code()


class DepartmentRow(Schema):
    code = _code()
    unit_code = _code()
    name = _name()
    #: 内设机构领导 "直接管理" every post's risks, so a department without one cannot be routed.
    head_code = _code(missing="missing department head (内设机构领导): the head directly "
                             "manages every post's risks")
    #: 分管领导: "由单位分管领导负责" level 2, "分管领导直接管理" level 1.
    deputy_in_charge_code = _code(missing="missing deputy in charge (分管领导): the deputy is "
                                         "responsible for level-2 risks")


class PostRow(Schema):
    code = _code()
    department_code = _code()
    name = _name()
    holder_code = _code(required=False)
    # The source's grading facts (see engine.programme.models.org.Post for each sentence).
    principal_post = YesNo()
    approval_power = YesNo()
    enforcement_power = YesNo()
    key_resources = YesNo()
    livelihood = YesNo()
    general_economic = YesNo()
    social_affairs = YesNo()
    public_service = YesNo()


SCHEMAS: dict[str, type[Schema]] = {
    "units": UnitRow, "officials": OfficialRow, "departments": DepartmentRow, "posts": PostRow,
}
