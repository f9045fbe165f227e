"""Pages: GET /designer/ (definitions, decision tables, drafts, upload), …/bpmn/<process>
(editor: a newer draft first; ?version=N or ?draft=1), …/dmn/<file> (DMN editor: a newer
draft first; ?draft=1 or ?deployed=1),
…/diff/<process>?old=N&new=M, downloads; POST …/upload (validate, deploy or keep as
drafts), POST …/drafts/<file>/discard.

JSON (CSRF token in the X-CSRFToken header, like every POST): GET …/api/file, POST
…/api/validate, …/api/deploy-check (what a deploy would touch), …/api/deploy, …/api/drafts.
A refused request changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import (
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from engine.errors import IrpmError, NotFound, ValidationFailed
from engine.parsing import MAX_SOURCE_BYTES, Source
from engine.services import design
from engine.services.design_lint.problem import Problem

from ..errors import describe, status_of
from ..runtime import runtime
from . import bp
from . import problems as problem_text

FILENAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.-]{0,200}\.(bpmn|bpmn20\.xml|dmn)$")
#: A SpiffArena form file (JSON Schema or ui-schema) sent with a diagram.
FORM_FILENAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.-]{0,200}\.json$")
MAX_FILES = 20


class FormFileSchema(ma.Schema):
    """A form file from the editor: its name and its text."""

    filename = ma.fields.String(required=True, validate=ma.validate.Regexp(
        FORM_FILENAME, error="a plain file name ending in .json (letters, digits, . _ -)"))
    text = ma.fields.String(required=True, validate=ma.validate.Length(
        max=MAX_SOURCE_BYTES, error=f"a form file has at most {MAX_SOURCE_BYTES} characters"))


class FileSchema(ma.Schema):
    """A file from the editor: its name and its XML."""

    filename = ma.fields.String(required=True, validate=ma.validate.Regexp(
        FILENAME, error="a plain file name ending in .bpmn, .bpmn20.xml or .dmn "
                                "(letters, digits, . _ -)"))
    xml = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=MAX_SOURCE_BYTES,
        error=f"the XML must be between 1 and {MAX_SOURCE_BYTES} characters"))
    #: The form files that go with the diagram, saved and deployed with it.
    forms = ma.fields.List(ma.fields.Nested(FormFileSchema), load_default=list,
                           validate=ma.validate.Length(max=MAX_FILES))


class FileQuery(ma.Schema):
    process = ma.fields.String(validate=ma.validate.Length(max=255))
    version = ma.fields.Integer(validate=ma.validate.Range(min=1))
    file = ma.fields.String(validate=ma.validate.Regexp(FILENAME))
    draft = ma.fields.Boolean(load_default=False)


def _models_dir() -> Any:
    return runtime().settings.bpmn_dir


def _problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [problem_text.as_json(p) for p in problems]


def _json_body() -> tuple[list[Source] | None, Any]:
    """The editor's file and its form files, or the 400 response saying what is wrong with
    the request."""
    try:
        body = FileSchema().load(request.get_json(silent=True) or {})
    except ma.ValidationError as err:
        return None, (jsonify(code="validation_failed",
                              message=_("The request is not a file from the editor."),
                              errors=err.messages), 400)
    return [Source(body["filename"], body["xml"].encode("utf-8")),
            *(Source(f["filename"], f["text"].encode("utf-8")) for f in body["forms"])], None


def _error_json(exc: IrpmError) -> Any:
    payload: dict[str, Any] = {"code": exc.code, "message": describe(exc),
                               "detail": exc.message}
    if isinstance(exc, ValidationFailed):
        payload["errors"] = exc.errors
    return jsonify(payload), status_of(exc)


# ----------------------------------------------------------------------------- pages


@bp.get("/")
def index() -> Any:
    with runtime().uow(write=False) as uow:
        found = design.overview(uow, _models_dir())
    return render_template("designer/index.html", overview=found,
                           max_mb=MAX_SOURCE_BYTES // 1024 // 1024, problems=None)


@bp.get("/bpmn/<process_id>")
def edit_bpmn(process_id: str) -> Any:
    version = request.args.get("version", type=int)
    draft = request.args.get("draft") == "1"
    with runtime().uow(write=False) as uow:
        if version or draft:
            opened = design.design_file(uow, process_id=process_id, version=version,
                                        draft=draft)
        else:  # 编辑: the newer of the draft and the latest version
            opened = design.editor_file(uow, process_id=process_id)
    draft = opened.origin == "draft"
    args: dict[str, Any] = {"draft": 1} if draft else {"version": version} if version else {}
    source = url_for("designer.api_file", process=process_id, **args)
    return render_template("designer/editor.html", process_id=process_id, opened=opened,
                           source_url=source, other_url=_other_url(opened, process_id))


def _other_url(opened: design.DesignFile, process_id: str | None = None) -> str | None:
    """Where the copy the editor did not open is: the draft, or the deployed file."""
    other = opened.other
    if other is None:
        return None
    if process_id is not None:
        if other.origin == "draft":
            return url_for("designer.edit_bpmn", process_id=process_id, draft=1)
        return url_for("designer.edit_bpmn", process_id=process_id,
                       version=other.origin.removeprefix("v"))
    if other.origin == "draft":
        return url_for("designer.edit_dmn", filename=opened.filename, draft=1)
    return url_for("designer.edit_dmn", filename=opened.filename, deployed=1)


@bp.get("/dmn/<filename>")
def edit_dmn(filename: str) -> Any:
    draft = request.args.get("draft") == "1"
    deployed = request.args.get("deployed") == "1"
    with runtime().uow(write=False) as uow:
        if draft or deployed:
            opened = design.design_file(uow, filename=filename, draft=draft,
                                        models_dir=_models_dir())
        else:  # 编辑: the newer of the draft and the deployed file
            opened = design.editor_file(uow, filename=filename, models_dir=_models_dir())
        if opened.kind != "dmn":
            raise NotFound(f"'{filename}' is not a decision table")
        table = design.decision_file(uow, filename)
    args: dict[str, Any] = {"draft": 1} if opened.origin == "draft" else {}
    return render_template("designer/dmn.html", opened=opened, table=table, source_url=url_for(
        "designer.api_file", file=filename, **args), other_url=_other_url(opened))


@bp.get("/diff/<process_id>")
def diff(process_id: str) -> Any:
    with runtime().uow(write=False) as uow:
        found = design.overview(uow)
    entry = next((p for p in found.processes if p.process_id == process_id), None)
    if entry is None:
        raise NotFound(f"no process '{process_id}' is deployed")
    versions = [v.version for v in entry.versions]
    new = request.args.get("new", type=int) or versions[0]
    old = request.args.get("old", type=int) or (new - 1 if new > 1 else new)
    if old not in versions or new not in versions:
        raise NotFound(f"process '{process_id}' has no such version")
    return render_template(
        "designer/diff.html", entry=entry, old=old, new=new, versions=versions,
        old_url=url_for("designer.api_file", process=process_id, version=old),
        new_url=url_for("designer.api_file", process=process_id, version=new))


def _attachment(opened: design.DesignFile) -> Response:
    response = Response(opened.content, mimetype="application/xml; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=opened.filename)
    return response


@bp.get("/download/<process_id>/<int(max=2147483647):version>")
def download_version(process_id: str, version: int) -> Any:
    with runtime().uow(write=False) as uow:
        opened = design.design_file(uow, process_id=process_id, version=version)
    return _attachment(opened)


@bp.get("/download/file/<filename>")
def download_file(filename: str) -> Any:
    draft = request.args.get("draft") == "1"
    with runtime().uow(write=False) as uow:
        opened = design.design_file(uow, filename=filename, draft=draft,
                                    models_dir=_models_dir())
    return _attachment(opened)


@bp.post("/new")
def new_file() -> Any:
    """Start a blank process or decision table: kept as a draft, opened in its editor."""
    kind = request.form.get("kind", "")
    ident = request.form.get("ident", "").strip()
    try:
        with runtime().uow() as uow:
            row = design.new_blank(uow, kind, ident, request.form.get("name", ""),
                                   saved_by=g.actor.user)
            filename, process_id = row.filename, row.process_id
    except ValidationFailed as exc:
        return _index_with([Problem("new", _new_refusal(exc), ident)]), 400
    if kind == "bpmn" and process_id:
        return redirect(url_for("designer.edit_bpmn", process_id=process_id, draft=1))
    return redirect(url_for("designer.edit_dmn", filename=filename, draft=1))


def _new_refusal(exc: ValidationFailed) -> str:
    """Why a new blank file was refused, in the user's language, naming what to change."""
    if exc.errors.get("ident") == ["taken"]:
        return _("A process, file or draft already has this id: choose another one.")
    if "ident" in exc.errors:
        return _("The id must start with a letter and use only letters, digits, _ and -.")
    if "name" in exc.errors:
        return _("The name has at most 200 characters.")
    return _("Choose a process (BPMN) or a decision table (DMN).")


@bp.post("/drafts/<filename>/discard")
def discard_draft(filename: str) -> Any:
    with runtime().uow() as uow:
        design.discard_draft(uow, filename)
    flash(_("The draft of %(file)s was discarded.", file=filename), "success")
    return redirect(url_for("designer.index"))


def _uploaded(files: list[FileStorage]) -> tuple[list[Source], list[Problem]]:
    sources, problems = [], []
    for storage in files:
        name = (storage.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        try:
            content = storage.stream.read(MAX_SOURCE_BYTES + 1)
        finally:
            storage.close()  # a large upload is spooled to a temporary file
        if not (FILENAME.match(name) or FORM_FILENAME.match(name)):
            problems.append(Problem("upload", _(
                "Only .bpmn, .bpmn20.xml, .dmn and .json form files can be uploaded (plain "
                "names: letters, digits, . _ -)."), name or "?"))
        elif len(content) > MAX_SOURCE_BYTES:
            problems.append(Problem("upload", _("The file is larger than %(mb)d MB.",
                                                mb=MAX_SOURCE_BYTES // 1024 // 1024), name))
        else:
            sources.append(Source(name, content))
    return sources, problems


@bp.post("/upload")
def upload() -> Any:
    """Upload .bpmn/.dmn files: deploy them (only if every check passes) or keep them as
    drafts (well-formed XML is enough)."""
    action = request.form.get("action", "deploy")
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files or len(files) > MAX_FILES or action not in ("deploy", "draft"):
        problems = [Problem("upload", _("Choose between 1 and %(n)d .bpmn or .dmn files.",
                                        n=MAX_FILES), "")]
        return _index_with(problems), 400
    sources, problems = _uploaded(files)
    if problems:
        return _index_with(problems), 400
    if action == "draft":
        try:
            with runtime().uow() as uow:
                design.save_drafts(uow, sources, saved_by=g.actor.user)
        except ValidationFailed as exc:
            return _index_with([Problem("xml", f"{name}: {message}", name)
                                for name, messages in exc.errors.items()
                                for message in (messages if isinstance(messages, list)
                                                else [messages])]), 400
        flash(_("Saved as drafts: %(files)s.", files=", ".join(s.filename for s in sources)),
              "success")
        return redirect(url_for("designer.index"))
    try:
        with runtime().uow() as uow:
            deployed = design.deploy_design(uow, sources, deployed_by=g.actor.user)
            kept = _kept_drafts(uow, sources)
    except design.DesignRejected as exc:
        return _index_with(exc.problems), 400
    flash(_deployed_message(deployed, kept), "success")
    return redirect(url_for("designer.index"))


def _kept_drafts(uow: Any, sources: list[Source]) -> list[str]:
    """The drafts a deploy kept because they differ from what was deployed."""
    return [d.filename for d in design.drafts_of(uow, [s.filename for s in sources])]


def _deployed_message(deployed: list[Any], kept: list[str]) -> str:
    created = [f"{d.process_id} v{d.version}" for d in deployed if d.created]
    message = (_("Deployed: %(versions)s.", versions=", ".join(created)) if created
               else _("Nothing changed: no process got a new version."))
    if kept:
        message += " " + _("The drafts of %(files)s differ from what was deployed and were "
                           "kept: open or discard them in the list.", files=", ".join(kept))
    return message


def _index_with(problems: list[Problem]) -> str:
    with runtime().uow(write=False) as uow:
        found = design.overview(uow, _models_dir())
    return render_template("designer/index.html", overview=found,
                           max_mb=MAX_SOURCE_BYTES // 1024 // 1024,
                           problems=[problem_text.as_json(p) for p in problems])


# ----------------------------------------------------------------------------- JSON


@bp.get("/api/file")
def api_file() -> Any:
    try:
        query = FileQuery().load(request.args)
    except ma.ValidationError as err:
        return jsonify(code="validation_failed", message=_("Bad query."),
                       errors=err.messages), 400
    try:
        with runtime().uow(write=False) as uow:
            opened = design.design_file(
                uow, process_id=query.get("process"), version=query.get("version"),
                filename=query.get("file"), draft=query["draft"], models_dir=_models_dir())
    except IrpmError as exc:
        return _error_json(exc)
    return jsonify(filename=opened.filename, kind=opened.kind, xml=opened.content,
                   origin=opened.origin, saved_by=opened.saved_by,
                   saved_at=opened.saved_at.isoformat() if opened.saved_at else None,
                   forms=[{"filename": name, "text": text} for name, text in opened.forms])


@bp.post("/api/validate")
def api_validate() -> Any:
    sources, refused = _json_body()
    if sources is None:
        return refused
    with runtime().uow(write=False) as uow:
        problems = design.validate_design(uow, sources)
    return jsonify(ok=not problems, problems=_problems_json(problems))


@bp.post("/api/deploy")
def api_deploy() -> Any:
    sources, refused = _json_body()
    if sources is None:
        return refused
    try:
        with runtime().uow() as uow:
            deployed = design.deploy_design(uow, sources, deployed_by=g.actor.user)
            kept = _kept_drafts(uow, sources)
    except design.DesignRejected as exc:
        return jsonify(ok=False, code=exc.code, message=_("Not deployed: fix the problems "
                                                          "first."),
                       problems=_problems_json(exc.problems)), 422
    except IrpmError as exc:
        return _error_json(exc)
    return jsonify(ok=True, message=_deployed_message(deployed, kept), kept_drafts=kept,
                   deployed=[
        {"process_id": d.process_id, "version": d.version, "created": d.created,
         "diff_url": url_for("designer.diff", process_id=d.process_id, new=d.version)}
        for d in deployed])


@bp.post("/api/deploy-check")
def api_deploy_check() -> Any:
    """What deploying the editor's file would touch, read only: the deploy button asks with
    these figures (``ask``) before it deploys anything."""
    sources, refused = _json_body()
    if sources is None:
        return refused
    with runtime().uow(write=False) as uow:
        check = design.deploy_check(uow, sources)
    return jsonify(
        processes=check.processes, total_running=check.total_running,
        kept_drafts=check.kept_drafts, ask=bool(check.total_running or check.kept_drafts),
        running={p: [{"version": v, "running": n} for v, n in versions]
                 for p, versions in check.running.items()},
        message=_deploy_question(check))


def _deploy_question(check: design.DeployCheck) -> str:
    """The confirmation's sentence, in the user's language."""
    parts = [_("Deploying makes a new version of %(processes)s.",
               processes=", ".join(check.processes) or "—")]
    if check.total_running:
        counts = "; ".join(f"{p} v{v}: {n}" for p, versions in check.running.items()
                           for v, n in versions)
        parts.append(_("%(n)d running instances stay on the version they started on "
                       "(%(counts)s); the new version applies to instances started from now "
                       "on, unless an administrator migrates them.",
                       n=check.total_running, counts=counts))
    if check.kept_drafts:
        parts.append(_("The drafts of %(files)s differ from this file and will be kept.",
                       files=", ".join(check.kept_drafts)))
    parts.append(_("Deploy now?"))
    return " ".join(parts)


@bp.post("/api/drafts")
def api_save_draft() -> Any:
    sources, refused = _json_body()
    if sources is None:
        return refused
    try:
        with runtime().uow() as uow:
            row, *_forms = design.save_drafts(uow, sources, saved_by=g.actor.user)
            saved = {"filename": row.filename, "saved_by": row.saved_by,
                     "saved_at": row.saved_at.isoformat()}
    except IrpmError as exc:
        return _error_json(exc)
    return jsonify(ok=True, message=_("Draft saved."), **saved)
