"""What every API area shares: its blueprint class, who is asking, role checks, pages of
results, and the schemas of the organisation's names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask import g

from engine.actors import Actor

from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])
_PUBLIC = "irpm_api_public"
#: The city's discipline commission (the unscoped role) oversees every unit.
CITY_OVERSIGHT = "discipline_commission"
MAX_PAGE_SIZE = 100
#: The error responses flask-smorest documents, by status.
_RESPONSES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              409: "CONFLICT", 422: "UNPROCESSABLE_ENTITY", 429: "TOO_MANY_REQUESTS"}


class Blueprint(flask_smorest.Blueprint):
    """An API area: its operations are tagged with the area's name in the OpenAPI
    document, and documented as refusing with the common error body."""

    def route(self, rule: str, *, parameters: Any = None, tags: Any = None,
              **options: Any) -> Callable[[F], F]:
        decorate = super().route(rule, parameters=parameters, tags=tags or [self.name],
                                 **options)
        return decorate

    def refuses(self, *statuses: int) -> Callable[[F], F]:
        """Document the error responses an operation may give (bodies: ``ErrorSchema``)."""
        def decorate(view: F) -> F:
            for status in statuses:
                view = self.alt_response(status, response=_RESPONSES[status])(view)
            return view
        return decorate


def public(view: F) -> F:
    """Let anonymous callers reach this operation (every other one needs a session or a
    token). Put it right under ``@bp.route``."""
    setattr(view, _PUBLIC, True)
    return view


def is_public(view: Any) -> bool:
    return bool(getattr(view, _PUBLIC, False))


def actor() -> Actor:
    """Who is asking (set by ``web.api.auth`` before any operation runs)."""
    who: Actor | None = g.get("actor")
    if who is None:
        raise ApiError(401, "unauthenticated", "Sign in, or send an API token as "
                       "'Authorization: Bearer <token>'.")
    return who


def oversees_all(who: Actor) -> bool:
    """Administrators and the city's discipline commission see every unit."""
    return who.is_admin or CITY_OVERSIGHT in who.groups


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise ApiError(403, "forbidden", message)


# ------------------------------------------------------------------------------ paging


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    page_size = ma.fields.Integer(load_default=25,
                                  validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE))


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{items: [...], total, page, page_size}`` of ``item``."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item), required=True),
        "total": ma.fields.Integer(required=True, metadata={
            "description": "how many match (for task lists: counted up to 10,000)"}),
        "capped": ma.fields.Boolean(metadata={"description": "the count stopped at its cap"}),
        "page": ma.fields.Integer(required=True),
        "page_size": ma.fields.Integer(required=True),
    }, name=name)


def page_of(items: list[Any], total: int, args: dict[str, Any], *,
            capped: bool = False) -> dict[str, Any]:
    return {"items": items, "total": total, "capped": capped, "page": args["page"],
            "page_size": args["page_size"]}


def offset(args: dict[str, Any]) -> int:
    return int((args["page"] - 1) * args["page_size"])


# ------------------------------------------------------------------------ organisation


class NamedSchema(ma.Schema):
    """A unit, department, post or official: its code and name."""

    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


def named(row: Any) -> dict[str, str] | None:
    return {"code": row.code, "name": row.name} if row is not None else None
