"""GET /me, and the caller's personal API tokens: list, create (shown once), revoke.

A token acts as its owner with all their rights, so only a signed-in browser session may
create one — a token cannot mint more tokens; any caller may revoke their own tokens."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g

from engine.services import api_tokens

from ..runtime import runtime
from .base import Blueprint, actor, require

bp = Blueprint("account", __name__, url_prefix="",
               description="Who is calling, and their personal API tokens")


class MeSchema(ma.Schema):
    username = ma.fields.String(required=True)
    is_admin = ma.fields.Boolean(required=True)
    groups = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "roles and scoped groups (post:<code>, department_head:<code>…)"})
    authenticated_by = ma.fields.String(required=True, metadata={"description":
                                                                 "session or token"})


class TokenSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "the token's start"})
    created_at = ma.fields.DateTime(required=True)
    last_used_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    revoked = ma.fields.Boolean(required=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(required=True, metadata={
        "description": "send as 'Authorization: Bearer <token>'; shown this once only"})


class CreateTokenSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=api_tokens.MAX_NAME))
    expires_in_days = ma.fields.Integer(load_default=api_tokens.DEFAULT_DAYS,
                                        validate=ma.validate.Range(1, api_tokens.MAX_DAYS))


@bp.route("/me")
@bp.response(200, MeSchema)
@bp.refuses(401)
def me() -> Any:
    """Who the API takes the caller for"""
    who = actor()
    return {"username": who.user, "is_admin": who.is_admin, "groups": sorted(who.groups),
            "authenticated_by": g.api_auth}


@bp.route("/tokens")
@bp.response(200, TokenSchema(many=True))
@bp.refuses(401)
def list_tokens() -> Any:
    """The caller's API tokens, newest first (the tokens themselves are never shown again)"""
    with runtime().uow(write=False) as uow:
        return api_tokens.list_tokens(uow, actor().user)


@bp.route("/tokens", methods=["POST"])
@bp.arguments(CreateTokenSchema)
@bp.response(201, NewTokenSchema)
@bp.refuses(400, 401, 403, 422)
def create_token(body: dict[str, Any]) -> Any:
    """Create an API token (signed-in session only); the answer carries the token, once"""
    who = actor()
    require(g.api_auth == "session", "API tokens are created from a signed-in session, "
            "not with another token.")
    with runtime().uow() as uow:
        new = api_tokens.create_token(uow, who.user, body["name"],
                                    expires_in_days=body["expires_in_days"])
    return {name: getattr(new.token, name) for name in TokenSchema().fields} | {
        "token": new.secret}


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@bp.response(200, TokenSchema)
@bp.refuses(401, 404)
def revoke_token(token_id: int) -> Any:
    """Revoke one of the caller's tokens (at once, for good)"""
    with runtime().uow() as uow:
        return api_tokens.revoke_token(uow, actor().user, token_id)
