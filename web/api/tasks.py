"""Tasks: the inbox views as lists (with the inbox's filters), one task, and claim /
unclaim / complete / delegate. A person sees their own tasks, their groups' tasks and
those of the units and departments they lead (``tasks.view_task``); every action is
refused (403) on a task the caller may not see, before anything else is said about it.
Completing is ``tasks.complete_task``, as on the task page: the task's drafts go with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import current_app

from engine.models import HumanTask
from engine.services import file_inputs, inbox, task_context, tasks
from engine.task_context import ContextValue

from ..runtime import runtime
from ..tasks import uploads
from .base import Blueprint, PageArgs, actor, offset, page_of, page_schema
from .errors import fields_under
from .instances import InstanceDetailSchema

bp = Blueprint("tasks", __name__, url_prefix="/tasks",
               description="Tasks: inbox views, claim, unclaim, complete, delegate")


class TaskArgs(PageArgs):
    view = ma.fields.String(load_default="mine", validate=ma.validate.OneOf(inbox.VIEWS),
                            metadata={"description": "mine: assigned to me; claimable: my "
                                      "groups', unclaimed; open: both; done: completed by "
                                      "me; all: every task (administrators)"})
    process = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    unit = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    due = ma.fields.String(validate=ma.validate.OneOf(inbox.DUE_STATES))
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=100),
                         metadata={"description": "search in the task's name and its post"})
    sort = ma.fields.String(validate=ma.validate.OneOf(inbox.SORT_KEYS))
    dir = ma.fields.String(load_default="asc", validate=ma.validate.OneOf(("asc", "desc")))


class TaskRowSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    element_id = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    assignee = ma.fields.String(allow_none=True)
    instance_id = ma.fields.Integer(required=True)
    process_id = ma.fields.String(required=True)
    process_name = ma.fields.String(required=True)
    business_key = ma.fields.String(allow_none=True)
    unit_code = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    department_code = ma.fields.String(allow_none=True)
    department_name = ma.fields.String(allow_none=True)
    post_code = ma.fields.String(allow_none=True)
    post_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    due_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    completed_by = ma.fields.String(allow_none=True)
    administrators_only = ma.fields.Boolean(required=True, metadata={"description": (
        "an administrators' task: it has no lane and no candidates, so only administrators "
        "may take it (never everyone)")})
    card = ma.fields.String(allow_none=True, metadata={
        "description": "yellow_card (due soon) or red_card (overdue) for an open task"})
    post_level = ma.fields.Integer(allow_none=True, metadata={
        "description": "the post's risk level (1, 2, 3) as last graded; null: not graded"})


class ContextFieldSchema(ma.Schema):
    source = ma.fields.String(required=True, metadata={
        "description": "the variable path the value is read from (e.g. suggestion.text)"})
    label = ma.fields.String(required=True)
    label_en = ma.fields.String(allow_none=True)
    value = ma.fields.Raw(allow_none=True)
    present = ma.fields.Boolean(required=True, metadata={
        "description": "false: nothing is recorded at the source yet (value null)"})


class TaskSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    instance_id = ma.fields.Integer(required=True)
    definition_id = ma.fields.Integer(required=True)
    element_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    lane = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True)
    assignee = ma.fields.String(allow_none=True)
    candidate_users = ma.fields.List(ma.fields.String(), required=True)
    candidate_groups = ma.fields.List(ma.fields.String(), required=True)
    administrators_only = ma.fields.Boolean(required=True, metadata={"description": (
        "an administrators' task: it has no lane and no candidates, so only administrators "
        "may take it (never everyone)")})
    created_at = ma.fields.DateTime(required=True)
    due_at = ma.fields.DateTime(allow_none=True)
    claimed_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    completed_by = ma.fields.String(allow_none=True)
    unit_code = ma.fields.String(allow_none=True)
    department_code = ma.fields.String(allow_none=True)
    post_code = ma.fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    context = ma.fields.List(ma.fields.Nested(ContextFieldSchema), required=True, metadata={
        "description": "what the task is about, as its BPMN element declares (irpm:context): "
                       "read-only values shown beside the form"})


@dataclass
class TaskDetail:
    """A task with its context: the task's own attributes read through, for the schema."""

    task: HumanTask
    context: list[ContextValue]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


class CompleteSchema(ma.Schema):
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata={
        "description": "the task form's fields; errors name them as data.<field>"})


class DelegateSchema(ma.Schema):
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                          metadata={"description": "a colleague's username"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=tasks.MAX_REASON))


TaskPage = page_schema(TaskRowSchema, "TaskPage")


@bp.route("")
@bp.arguments(TaskArgs, location="query")
@bp.response(200, TaskPage)
@bp.refuses(401, 403)
def list_tasks(args: dict[str, Any]) -> Any:
    """An inbox view, filtered, searched, sorted and paged like the inbox pages"""
    near = timedelta(days=float(current_app.config["IRPM_NEAR_DUE_DAYS"]))
    flt = inbox.TaskFilter(view=args["view"], process_id=args.get("process"),
                           unit_code=args.get("unit"), due=args.get("due"),
                           search=args.get("q"), sort=args.get("sort"),
                           descending=args["dir"] == "desc", limit=args["page_size"],
                           offset=offset(args), near_due=near)
    with runtime().uow(write=False) as uow:
        page = inbox.inbox_page(uow, actor(), flt)
    return page_of(page.rows, page.total, args, capped=page.capped)


@bp.route("/<uuid:task_id>")
@bp.response(200, TaskDetailSchema)
@bp.refuses(401, 403, 404)
def get_task(task_id: uuid.UUID) -> Any:
    """One task the caller may see, with what it is about (its context)"""
    with runtime().uow(write=False) as uow:
        task = tasks.view_task(uow, task_id, actor())
        return TaskDetail(task, task_context.task_context(uow, task))


def _act(task_id: uuid.UUID, action: str, body: dict[str, Any] | None = None) -> Any:
    who = actor()
    with runtime().uow() as uow:
        tasks.view_task(uow, task_id, who)
        if action == "claim":
            return tasks.claim_task(uow, task_id, who)
        if action == "unclaim":
            return tasks.unclaim_task(uow, task_id, who)
        assert body is not None
        if action == "delegate":
            return tasks.delegate_task(uow, task_id, who, body["to"], body["reason"])
        with fields_under("data"):
            data = file_inputs.store_data_urls(uow, task_id, who, body["data"],
                                               store=uploads.store(),
                                               max_bytes=uploads.max_bytes())
            return tasks.complete_task(uow, task_id, who, data)


@bp.route("/<uuid:task_id>/claim", methods=["POST"])
@bp.response(200, TaskSchema)
@bp.refuses(401, 403, 404, 409)
def claim(task_id: uuid.UUID) -> Any:
    """Claim a task of one's groups (it moves to view=mine)"""
    return _act(task_id, "claim")


@bp.route("/<uuid:task_id>/unclaim", methods=["POST"])
@bp.response(200, TaskSchema)
@bp.refuses(401, 403, 404, 409)
def unclaim(task_id: uuid.UUID) -> Any:
    """Release a claimed task to its groups"""
    return _act(task_id, "unclaim")


@bp.route("/<uuid:task_id>/complete", methods=["POST"])
@bp.arguments(CompleteSchema, required=False)
@bp.response(200, InstanceDetailSchema)
@bp.refuses(401, 403, 404, 409, 422)
def complete(body: dict[str, Any], task_id: uuid.UUID) -> Any:
    """Complete a task with its form's data; answers the instance as it now stands

    A file input of the form (``format: data-url``) takes the file as react-jsonschema-form
    sends it, ``data:<type>;name=<name>;base64,…``: it is stored in the evidence store (at most
    ``IRPM_MAX_EVIDENCE_BYTES``; PDF, PNG, JPEG, DOCX, XLSX and the field's accept list) and
    the task data keeps its reference ``{id, name, size, sha256, media_type}``. A refused file
    answers 422 at its field with nothing stored.
    """
    return _act(task_id, "complete", body)


@bp.route("/<uuid:task_id>/delegate", methods=["POST"])
@bp.arguments(DelegateSchema)
@bp.response(200, TaskSchema)
@bp.refuses(401, 403, 404, 409, 422)
def delegate(body: dict[str, Any], task_id: uuid.UUID) -> Any:
    """Hand a task to a colleague of the same department, with a reason (转办)"""
    return _act(task_id, "delegate", body)
