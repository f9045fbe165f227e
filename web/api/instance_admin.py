"""Administrative acts on one instance through the API, POST /instances/<id>/…: suspend,
resume, terminate, retry, change variables, move a token, migrate to another version, and
reassign a task.

Each is the engine service the console's instance page calls (``engine.services.
instance_admin``, ``token_move``, ``version_migration``), so each asks the one rule
(``engine.services.admin_rule``: administrators act; the city's discipline commission, which
reads every instance here, acts nowhere), needs a ``reason`` (422 naming it otherwise) and
writes one ``admin_audit`` entry in the transaction that makes the change. Who may act is
checked before the body is read: anyone else gets 403 whatever they sent, and nothing
changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import wraps
from typing import Any, TypeVar, cast

import marshmallow as ma

from engine.errors import NotFound
from engine.services import admin_rule, instance_admin, tasks, token_move, version_migration

from ..runtime import runtime
from .base import actor, require
from .errors import fields_under
from .instances import InstanceDetailSchema, bp
from .tasks import TaskSchema

F = TypeVar("F", bound=Callable[..., Any])
ADMINISTERING = ("Only administrators may do that; the city's discipline commission reads "
                 "every instance but does not steer them.")
#: Every administrative act states why: kept in the audit log with the change.
REASON = ma.fields.String(required=True, validate=[
    ma.validate.Length(min=admin_rule.MIN_REASON, max=admin_rule.MAX_REASON),
    ma.validate.Regexp(r"\s*\S", error="Give a reason: it is kept in the audit log.")],
    metadata={"description": "why (required; kept in the audit log with the change)"})


class ReasonSchema(ma.Schema):
    reason = REASON


class RetrySchema(ReasonSchema):
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": "corrections merged into the failed step"})


class VariablesSchema(ReasonSchema):
    variables = ma.fields.Dict(keys=ma.fields.String(), required=True, metadata={
        "description": "name → new value; an existing variable keeps its kind"})


class VariablesResultSchema(ma.Schema):
    variables = ma.fields.Dict(required=True,
                               metadata={"description": "the instance's variables now"})


class MoveSchema(ReasonSchema):
    from_task = ma.fields.UUID(required=True,
                               metadata={"description": "the active task to cancel"})
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255),
                          metadata={"description": "the element to start in its place"})


class MigrateSchema(ReasonSchema):
    version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class ReassignSchema(ReasonSchema):
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255),
                          metadata={"description": "the login who gets the task"})


def administrators_only(view: F) -> F:
    """Refuse anyone but an administrator (403) before the request's body is parsed."""
    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        require(admin_rule.may_administer(actor()), ADMINISTERING)
        return view(*args, **kwargs)
    return cast(F, checked)


def _administrative(rule: str, endpoint: str, body: type[ma.Schema], response: Any,
                    summary: str, call: Callable[..., Any]) -> None:
    """Register ``call(uow, who, payload, **path)`` as POST ``rule``, documented."""
    def operation(payload: dict[str, Any], **path: Any) -> Any:
        with runtime().uow() as uow:
            return call(uow, actor(), payload, **path)

    operation.__name__ = operation.__qualname__ = endpoint
    operation.__doc__ = summary
    documented = bp.refuses(401, 403, 404, 409, 422)(operation)
    documented = bp.response(200, response)(documented)
    documented = bp.arguments(body, required=False)(documented)
    bp.route(rule, methods=["POST"], endpoint=endpoint)(administrators_only(documented))


def _lifecycle(action: str) -> Callable[..., Any]:
    def call(uow: Any, who: Any, body: dict[str, Any], instance_id: int) -> Any:
        corrections: AbstractContextManager[None] = (
            fields_under("data") if action == "retry" else nullcontext())
        with corrections:
            return instance_admin.admin_lifecycle(uow, action, instance_id, who,
                                                  body["reason"], body.get("data"))
    return call


def _variables(uow: Any, who: Any, body: dict[str, Any], instance_id: int) -> Any:
    with fields_under("variables"):
        changed = instance_admin.set_variables(uow, instance_id, who, body["variables"],
                                               body["reason"])
    return {"variables": changed}


def _move(uow: Any, who: Any, body: dict[str, Any], instance_id: int) -> Any:
    return token_move.move_token(uow, instance_id, who, body["from_task"], body["to"],
                                 body["reason"])


def _migrate(uow: Any, who: Any, body: dict[str, Any], instance_id: int) -> Any:
    return version_migration.migrate_instance(uow, instance_id, who, body["version"],
                                              body["reason"])


def _reassign(uow: Any, who: Any, body: dict[str, Any], instance_id: int,
              task_id: uuid.UUID) -> Any:
    if tasks.get_task(uow, task_id).instance_id != instance_id:
        raise NotFound(f"task {task_id} is not a task of instance {instance_id}")
    return instance_admin.reassign_task(uow, task_id, who, body["to"], body["reason"])


INSTANCE = "/<int:instance_id>"
#: Every administrative operation of the API: (rule, endpoint, body, response, summary,
#: service call). tests/web/test_admin_audit_paths.py goes through each.
OPERATIONS: tuple[tuple[str, str, type[ma.Schema], Any, str, Callable[..., Any]], ...] = (
    (f"{INSTANCE}/suspend", "suspend", ReasonSchema, InstanceDetailSchema,
     "Suspend a running, waiting or failed instance (administrators; audited)",
     _lifecycle("suspend")),
    (f"{INSTANCE}/resume", "resume", ReasonSchema, InstanceDetailSchema,
     "Resume a suspended instance (administrators; audited)", _lifecycle("resume")),
    (f"{INSTANCE}/terminate", "terminate", ReasonSchema, InstanceDetailSchema,
     "Terminate an instance and every instance it called that still runs (administrators; "
     "audited)", _lifecycle("terminate")),
    (f"{INSTANCE}/retry", "retry", RetrySchema, InstanceDetailSchema,
     "Run a failed instance's failed step again, after merging corrected data "
     "(administrators; audited)", _lifecycle("retry")),
    (f"{INSTANCE}/variables", "set_variables", VariablesSchema, VariablesResultSchema,
     "Change variables of a running instance for the steps to come (administrators; "
     "audited)", _variables),
    (f"{INSTANCE}/move", "move_token", MoveSchema, InstanceDetailSchema,
     "Cancel an active task and start another activity of the process in its place "
     "(administrators; audited)", _move),
    (f"{INSTANCE}/migrate", "migrate", MigrateSchema, InstanceDetailSchema,
     "Move the instance to another version of its process when every element it met exists "
     "there (administrators; audited)", _migrate),
    (f"{INSTANCE}/tasks/<uuid:task_id>/reassign", "reassign", ReassignSchema, TaskSchema,
     "Give an open task of the instance to someone else, not to one it excludes "
     "(administrators; audited)", _reassign),
)

for _operation in OPERATIONS:
    _administrative(*_operation)
