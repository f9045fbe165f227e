"""GET /console/instances: the filtered, sorted, keyset-paged instance list; saved filters
(POST /console/filters, POST /console/filters/<id>/delete); the batch form posts from here."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import IrpmError, ValidationFailed
from engine.programme.services import organisation
from engine.services import batches, console_list, saved_filters
from engine.services.console_list import PAGE_SIZES, InstanceQuery

from ..errors import describe
from ..runtime import runtime
from . import bp, may_act
from .query import list_url, parse, to_args, url_with


@bp.get("/")
def index() -> Any:
    return redirect(url_for("console.instances"))


@bp.get("/instances")
def instances() -> Any:
    query, args, errors = parse(request.args)
    page = None
    status = 200
    with runtime().uow(write=False) as uow:
        try:
            page = console_list.list_console_instances(uow, query)
        except ValidationFailed as exc:
            errors = {**errors, **exc.errors}
            status = 400
        definitions = console_list.definition_choices(uow)
        processes = sorted({(d.process_id, d.name) for d in definitions})
        versions = sorted({d.version for d in definitions if d.process_id == query.process},
                          reverse=True)
        units = [(u.code, u.name) for u in organisation.list_units(uow)]
        steps = console_list.step_choices(uow, query.process)
        saved = saved_filters.list_filters(uow, g.actor.user)
    if errors:
        status = 400
    return render_template(
        "console/instances.html", page=page, query=query, args=args, errors=errors,
        processes=processes, versions=versions, units=units, steps=steps, saved=saved,
        url_with=url_with, page_sizes=PAGE_SIZES, may_act=may_act(),
        operations=batches.BATCH_OPERATIONS), status


@bp.post("/filters")
def save_filter() -> Any:
    query, args, errors = parse(request.form)
    name = request.form.get("name", "")
    if errors:
        flash(_("The filter was not saved: %(fields)s is invalid.",
                fields=", ".join(errors)), "danger")
        return redirect(list_url(args))
    try:
        with runtime().uow() as uow:
            saved_filters.save_filter(uow, g.actor.user, name, query)
    except ValidationFailed as exc:
        flash(_("The filter was not saved: %(reason)s", reason=exc.message), "danger")
    else:
        flash(_("Saved the filter “%(name)s”.", name=name.strip()), "success")
    return redirect(list_url(args))


@bp.get("/filters/<int:filter_id>")
def open_filter(filter_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        row = saved_filters.get_filter(uow, g.actor.user, filter_id)
        query = InstanceQuery.from_params(row.query)
    return redirect(list_url(to_args(query)))


@bp.post("/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int) -> Any:
    try:
        with runtime().uow() as uow:
            saved_filters.delete_filter(uow, g.actor.user, filter_id)
    except IrpmError as exc:
        flash(describe(exc), "danger")
    else:
        flash(_("The saved filter was deleted."), "success")
    return redirect(url_for("console.instances"))
