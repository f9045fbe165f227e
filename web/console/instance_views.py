"""The instance page (/console/instances/<id>) and its operations. Each POST validates its
form (marshmallow), calls one engine service in its own unit of work (the service checks
that the actor is an administrator and writes the audit entry with the change) and comes
back to the page with what happened; a refusal changes nothing and says why."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import IrpmError, NotFound
from engine.services import (
    diagrams,
    instance_admin,
    instance_page,
    tasks,
    token_move,
    version_migration,
)

from ..errors import describe
from ..labels import label
from ..runtime import runtime
from . import bp, may_act
from .forms import (
    MigrateForm,
    MoveForm,
    ReasonForm,
    ReassignForm,
    VariableForm,
    first_error,
    json_or_text,
    load,
)

LIFECYCLE = ("suspend", "resume", "terminate", "retry")


@bp.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        view = instance_page.instance_view(uow, instance_id)
        checks = [version_migration.check_migration(uow, instance_id, v)
                  for _i, v in view.newer[:3]] if view.state_error is None else []
    return render_template("console/instance.html", v=view, i=view.instance,
                           checks=checks, may_act=may_act(), ops=_operations(view.instance.status))


def _operations(status: str) -> list[str]:
    """The lifecycle operations the status allows, in the order the page offers them."""
    allowed = {"suspend": ("running", "waiting", "error"), "resume": ("suspended",),
               "retry": ("error",),
               "terminate": ("running", "waiting", "error", "suspended")}
    return [op for op, statuses in allowed.items() if status in statuses]


@bp.get("/instances/<int:instance_id>/diagram")
def instance_diagram(instance_id: int) -> Any:
    """The diagram as JSON for bpmn-js: the XML, the elements with a token (``current``) and
    those already completed (``done``)."""
    with runtime().uow(write=False) as uow:
        view = instance_page.instance_view(uow, instance_id)
        found = diagrams.process_diagram(uow, view.definition.id)
    return jsonify(process=found.process_id, version=found.version, xml=found.xml,
                   current=view.current, done=view.done)


def _act(instance_id: int, schema: type[ma.Schema],
         call: Callable[[Any, dict[str, Any]], str]) -> Any:
    """Validate, run ``call(uow, values)`` (it returns the success message), come back."""
    if not may_act():
        abort(403)
    try:
        values = load(schema, request.form)
    except ma.ValidationError as exc:
        flash(_("Refused: %(reason)s", reason=first_error(exc)), "danger")
        return redirect(url_for("console.instance", instance_id=instance_id), 303)
    try:
        with runtime().uow() as uow:
            message = call(uow, values)
    except IrpmError as exc:
        flash(_("Refused: %(reason)s", reason=exc.message or describe(exc)), "danger")
    else:
        flash(message, "success")
    return redirect(url_for("console.instance", instance_id=instance_id), 303)


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, terminate, retry):operation>")
def lifecycle(instance_id: int, operation: str) -> Any:
    def call(uow: Any, values: dict[str, Any]) -> str:
        instance_admin.admin_lifecycle(uow, operation, instance_id, g.actor, values["reason"])
        return _("Done: %(operation)s.", operation=_label(operation))
    return _act(instance_id, ReasonForm, call)


def _label(operation: str) -> str:
    return label(operation, "audit_action")


@bp.post("/instances/<int:instance_id>/variables")
def variables(instance_id: int) -> Any:
    def call(uow: Any, values: dict[str, Any]) -> str:
        instance_admin.set_variables(uow, instance_id, g.actor,
                               {values["name"]: json_or_text(values["value"])},
                               values["reason"])
        return _("Variable %(name)s changed.", name=values["name"])
    return _act(instance_id, VariableForm, call)


@bp.post("/instances/<int:instance_id>/move")
def move(instance_id: int) -> Any:
    def call(uow: Any, values: dict[str, Any]) -> str:
        token_move.move_token(uow, instance_id, g.actor, values["from_task"], values["to"],
                            values["reason"])
        return _("The token was moved to %(target)s.", target=values["to"])
    return _act(instance_id, MoveForm, call)


@bp.post("/instances/<int:instance_id>/migrate")
def migrate(instance_id: int) -> Any:
    def call(uow: Any, values: dict[str, Any]) -> str:
        version_migration.migrate_instance(uow, instance_id, g.actor, values["version"],
                                  values["reason"])
        return _("Migrated to version %(version)s.", version=values["version"])
    return _act(instance_id, MigrateForm, call)


@bp.post("/instances/<int:instance_id>/tasks/<uuid:task_id>/reassign")
def reassign(instance_id: int, task_id: uuid.UUID) -> Any:
    def call(uow: Any, values: dict[str, Any]) -> str:
        if tasks.get_task(uow, task_id).instance_id != instance_id:
            raise NotFound(f"task {task_id} is not a task of instance {instance_id}")
        task = instance_admin.reassign_task(uow, task_id, g.actor, values["to"], values["reason"])
        return _("“%(task)s” now belongs to %(user)s.", task=task.name, user=values["to"])
    return _act(instance_id, ReassignForm, call)
