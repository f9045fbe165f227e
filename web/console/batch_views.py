"""Batch operations: POST /console/batches creates one from the list's filter; the batch
page (/console/batches/<id>) drives it with POST …/step (JSON progress) while it is open and
shows the report; GET …/progress answers the progress alone."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine.errors import IrpmError
from engine.services import batches as batches_service

from ..runtime import runtime
from . import bp, may_act
from .forms import BatchForm, first_error, load
from .query import list_url, parse


@bp.post("/batches")
def create_batch() -> Any:
    if not may_act():
        abort(403)
    query, args, errors = parse(request.form)
    back = redirect(list_url(args), 303)
    if errors:
        flash(_("Refused: %(reason)s", reason=", ".join(errors)), "danger")
        return back
    try:
        values = load(BatchForm, _batch_fields(request.form))
    except ma.ValidationError as exc:
        flash(_("Refused: %(reason)s", reason=first_error(exc)), "danger")
        return back
    try:
        with runtime().uow() as uow:
            batch = batches_service.create_batch(uow, g.actor, values["operation"], query,
                                          values["reason"],
                                          version=values.get("target_version"))
    except IrpmError as exc:
        flash(_("Refused: %(reason)s", reason=exc.message), "danger")
        return back
    return redirect(url_for("console.batch", batch_id=batch.id), 303)


def _batch_fields(form: Any) -> MultiDict[str, str]:
    return MultiDict({k: form.get(k, "") for k in ("operation", "reason", "target_version")})


@bp.get("/batches")
def batches() -> Any:
    with runtime().uow(write=False) as uow:
        rows = batches_service.list_batches(uow)
    return render_template("console/batches.html", rows=rows)


@bp.get("/batches/<int:batch_id>")
def batch(batch_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        progress = batches_service.batch_progress(uow, batch_id)
        failed = batches_service.batch_items(uow, batch_id, "failed")
        succeeded = batches_service.batch_items(uow, batch_id, "succeeded", limit=200)
        row = batches_service.get_batch(uow, batch_id)
    return render_template("console/batch.html", b=row, progress=progress, failed=failed,
                           succeeded=succeeded, may_act=may_act())


def _json(progress: batches_service.BatchProgress) -> Any:
    return jsonify(id=progress.id, operation=progress.operation, status=progress.status,
                   total=progress.total, succeeded=progress.succeeded, failed=progress.failed,
                   done=progress.done)


@bp.get("/batches/<int:batch_id>/progress")
def batch_progress(batch_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        return _json(batches_service.batch_progress(uow, batch_id))


@bp.post("/batches/<int:batch_id>/step")
def batch_step(batch_id: int) -> Any:
    if not may_act():
        abort(403)
    with runtime().uow() as uow:
        return _json(batches_service.run_batch_step(uow, batch_id, g.actor))
