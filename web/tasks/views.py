"""The task page: GET shows the task with its form (restored from the user's draft), POST
saves a draft, submits, attaches a file, or adds / removes a row of a repeatable group
(without JavaScript; with it the rows change in the browser); the diagram as JSON; evidence
downloads. Only someone who may see the task (``tasks.view_task``) gets any of it; only
someone who may work on it (``task_access.may_work_on``) may change anything. Submitting is
``tasks.complete_task``, as in the API and the CLI: it drops the task's drafts too.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import InvalidState, IrpmError, ValidationFailed
from engine.services import diagrams, drafts, evidence, file_inputs, instances, tasks

from ..errors import describe
from ..jobs.views import queued_by_step
from ..limits import size_text
from ..runtime import runtime
from . import bp, form_values, page, schema_form, uploads
from .form_state import FormState


def _render(p: page.TaskPage, state: FormState, status: int = 200,
            upload_error: str | None = None) -> Any:
    return render_template("tasks/show.html", p=p, task=p.task, instance=p.instance,
                           state=state, upload_error=upload_error,
                           max_evidence=size_text(uploads.max_bytes()),
                           max_evidence_bytes=uploads.max_bytes(),
                           dom_id=schema_form.dom_id, offered_to=page.offered), status


def _load(uow: Any, task_id: uuid.UUID) -> page.TaskPage:
    days = float(current_app.config["IRPM_NEAR_DUE_DAYS"])
    return page.load(uow, task_id, g.actor, near_due=timedelta(days=days))


def _here(task_id: uuid.UUID, anchor: str | None = None) -> Any:
    return redirect(url_for("tasks.show", task_id=task_id, _anchor=anchor))


@bp.get("/<uuid:task_id>")
def show(task_id: uuid.UUID) -> Any:
    with runtime().uow(write=False) as uow:
        p = _load(uow, task_id)
    raw = p.draft.data if p.draft is not None else schema_form.defaults(p.fields)
    return _render(p, FormState(p.fields, raw))


def _row_action(p: page.TaskPage, action: str) -> Any:
    """``add:<array path>`` / ``remove:<row path>``: the form again, with the row added or
    removed and everything typed kept (nothing is saved)."""
    verb, _sep, path = action.partition(":")
    if verb == "remove":
        raw = form_values.parse(p.fields, request.form, skip=path)
    else:
        raw = form_values.parse(p.fields, request.form)
        if not form_values.add_row(p.fields, raw, path):
            abort(400)
    return _render(p, FormState(p.fields, raw))


def _attach(p: page.TaskPage) -> str | None:
    """Attach the posted file, if any: None when done (or there was none), else why not."""
    upload = request.files.get("evidence") if p.evidence_enabled else None
    if upload is None or not upload.filename:
        return None
    content = uploads.read(upload)
    with runtime().uow() as uow:
        try:
            row = evidence.attach_evidence(uow, p.task.id, g.actor, upload.filename, content,
                                           store=uploads.store(),
                                           max_bytes=uploads.max_bytes())
        except ValidationFailed as exc:
            return uploads.refusal(exc, upload.filename)
    flash(_("“%(name)s” was attached.", name=row.filename), "success")
    return None


def _take_files(p: page.TaskPage, raw: dict[str, Any]) -> dict[str, list[str]] | None:
    """Store the files chosen in the form's file inputs and put their references into
    ``raw`` (a second file replaces the first; an input of several adds to its list):
    None when done, else why not, by input (nothing stored)."""
    inputs = {f.name: f for f in p.fields if f.kind in ("file", "files")}
    sent = {name: [(u.filename, uploads.read(u)) for u in request.files.getlist(name)
                   if u.filename]
            for name in inputs}
    if not any(sent.values()):
        return None
    kept = {name: len(raw.get(name) or []) for name, f in inputs.items() if f.kind == "files"}
    try:
        with runtime().uow() as uow:
            stored = file_inputs.store_files(uow, p.task.id, g.actor, sent, kept=kept,
                                             store=uploads.store(),
                                             max_bytes=uploads.max_bytes())
    except ValidationFailed as exc:
        return uploads.field_refusals(exc)
    for name, references in stored.items():
        if inputs[name].kind == "files":
            raw[name] = [*(raw.get(name) or []), *references]
        else:
            raw[name] = references[0]
    return None


ACTIONS = ("save", "submit", "upload", "discard")


@bp.post("/<uuid:task_id>")
def act(task_id: uuid.UUID) -> Any:
    action = request.form.get("action", "save")
    with runtime().uow(write=False) as uow:
        p = _load(uow, task_id)
    if p.halted and p.allowed:
        # Suspended or ended while the form was filled in: say so, keep what was typed.
        raw = form_values.compact(p.fields, form_values.parse(p.fields, request.form))
        return _render(p, FormState(p.fields, raw), 409)
    if not p.can_work:
        flash(_("Only the person working on this task can change it."), "danger")
        return _here(task_id)
    if action.startswith(("add:", "remove:")):
        return _row_action(p, action)
    if action not in ACTIONS:
        abort(400)
    raw = form_values.compact(p.fields, form_values.parse(p.fields, request.form))
    refused = _take_files(p, raw)
    if refused:
        return _render(p, FormState.with_errors(p.fields, raw, refused), 400)
    try:
        return _perform(p, action, raw)
    except ValidationFailed as exc:  # the draft is too large
        return _render(p, FormState.with_errors(p.fields, raw, exc.errors), 400)
    except IrpmError as exc:
        flash(describe(exc), "danger")
        return _here(task_id)


def _perform(p: page.TaskPage, action: str, raw: dict[str, Any]) -> Any:
    """Attach the file sent along (if any), then save, submit or discard."""
    refused = _attach(p)
    if refused:
        return _render(p, FormState(p.fields, raw), 400, upload_error=refused)
    if action == "submit":
        return _submit(p, raw)
    if action == "discard":
        with runtime().uow() as uow:
            drafts.discard_draft(uow, p.task.id, g.actor)
        flash(_("The draft was discarded."), "info")
        return _here(p.task.id)
    with runtime().uow() as uow:  # an upload keeps what was typed next to the file, too
        drafts.save_draft(uow, p.task.id, g.actor, raw)
    if action == "upload":
        upload = request.files.get("evidence")
        if upload is None or not upload.filename:
            flash(_("Choose a file to attach."), "warning")
        return _here(p.task.id, "evidence")
    flash(_("The draft was saved."), "success")
    return _here(p.task.id)


def _submit(p: page.TaskPage, raw: dict[str, Any]) -> Any:
    data = form_values.to_data(p.fields, raw)
    try:
        with runtime().uow() as uow:
            tasks.complete_task(uow, p.task.id, g.actor, data)
    except ValidationFailed as exc:
        with runtime().uow(write=False) as uow:  # with any file just attached
            p = _load(uow, p.task.id)
        state = FormState.with_errors(p.fields, raw, exc.errors)
        if not state.has_errors():
            state.general.append(describe(exc))
        return _render(p, state, 400)
    except InvalidState as exc:
        # The instance was suspended or ended while the form was filled in: the page again,
        # read-only, with what was typed still on it (shown under the notice) — not lost.
        with runtime().uow(write=False) as uow:
            p = _load(uow, p.task.id)
        return _render(p, FormState(p.fields, raw, general=[describe(exc)]), 409)
    flash(_("“%(task)s” was submitted.", task=p.task.name), "success")
    with runtime().uow(write=False) as uow:
        job_id = queued_by_step(uow, p.task.instance_id, g.actor)
    if job_id is not None:  # long work it asked for goes on in the background: show it
        flash(_("The instances it starts are being started in the background."), "info")
        return redirect(url_for("jobs.show", job_id=job_id))
    return redirect(url_for("inbox.tasks", view="mine"))


@bp.get("/<uuid:task_id>/diagram")
def diagram(task_id: uuid.UUID) -> Any:
    """The process diagram as JSON: the BPMN XML, the current steps (``current``: the task's
    element while it is open, else the instance's open steps — a done task is not current)
    and the elements of tasks already completed in the instance (``done``)."""
    with runtime().uow(write=False) as uow:
        task = tasks.view_task(uow, task_id, g.actor)
        found = diagrams.process_diagram(uow, task.definition_id)
        events = instances.instance_events(uow, task.instance_id)
        current = ([task.element_id] if task.state == "open" else
                   sorted({t.element_id for t in instances.open_tasks(uow, task.instance_id)}))
    done = sorted({e.element_id for e in events
                   if e.type == "task_completed" and e.element_id})
    return jsonify(process=found.process_id, version=found.version, xml=found.xml,
                   current=current, done=done)


@bp.get("/<uuid:task_id>/evidence/<int:evidence_id>")
def download(task_id: uuid.UUID, evidence_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        row, path = evidence.evidence_file(uow, task_id, evidence_id, g.actor,
                                           store=uploads.store())
    response = send_file(io.BytesIO(path.read_bytes()), mimetype=row.content_type,
                         as_attachment=True, download_name=row.filename, conditional=False,
                         etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.url_value_preprocessor
def _limit_uploads(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Before anything (the CSRF check included) reads a POST's body: cap its size."""
    if request.method == "POST":
        request.max_content_length = uploads.request_limit()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    flash(uploads.too_large(), "danger")
    task_id = (request.view_args or {}).get("task_id")
    if task_id is None:
        return redirect(url_for("inbox.tasks", view="mine"))
    current_app.logger.info("refused an upload of %s bytes for task %s",
                            request.content_length, task_id)
    return _here(task_id, "evidence")
