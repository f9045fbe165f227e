"""GET /tasks/<id>: one task — a placeholder page until the task form arrives, but already
with the rule that matters: only someone who may see the task (``services.view_task``)
gets it; anyone else gets 403, whatever the URL they typed."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Flask, g, render_template

from engine import services

from ..runtime import runtime

bp = Blueprint("tasks", __name__, url_prefix="/tasks", template_folder="templates")


@bp.get("/<uuid:task_id>")
def show(task_id: uuid.UUID) -> Any:
    with runtime().uow(write=False) as uow:
        task = services.view_task(uow, task_id, g.actor)
        instance = services.get_instance(uow, task.instance_id)
        events = services.instance_events(uow, task.instance_id)
    return render_template("tasks/show.html", task=task, instance=instance, events=events)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
