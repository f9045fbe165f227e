"""The heatmap: choose a process version, see on its diagram how many instances wait at,
have passed and failed at each element (GET /console/heatmap; the counts and the diagram
as JSON: …/heatmap/<id>/data)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request

from engine.services import console_list, diagrams
from engine.services import heatmap as heatmap_service

from ..runtime import runtime
from . import bp


@bp.get("/heatmap")
def heatmap() -> Any:
    with runtime().uow(write=False) as uow:
        choices = console_list.definition_choices(uow)
    chosen = request.args.get("definition", type=int)
    if chosen not in {c.id for c in choices}:
        # choices come by process and version: the last of each process is its latest
        latest = {c.process_id: c.id for c in choices}
        chosen = latest[min(latest)] if latest else None
    with runtime().uow(write=False) as uow:
        heat = heatmap_service.heatmap_of(uow, chosen) if chosen is not None else None
    return render_template("console/heatmap.html", choices=choices, chosen=chosen, heat=heat,
                           counts=counts_json(heat) if heat is not None else {})


def counts_json(heat: heatmap_service.Heatmap) -> dict[str, dict[str, int]]:
    return {k: {"waiting": c.waiting, "passed": c.passed, "failed": c.failed}
            for k, c in heat.elements.items()}


@bp.get("/heatmap/<int:definition_id>/diagram")
def heatmap_diagram(definition_id: int) -> Any:
    """The version's BPMN alone: the page already carries the counts (data-counts), so the
    counting is done once per view."""
    with runtime().uow(write=False) as uow:
        found = diagrams.process_diagram(uow, definition_id)
    return jsonify(process=found.process_id, version=found.version, xml=found.xml)


@bp.get("/heatmap/<int:definition_id>/data")
def heatmap_data(definition_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        heat = heatmap_service.heatmap_of(uow, definition_id)
        found = diagrams.process_diagram(uow, definition_id)
    return jsonify(process=found.process_id, version=found.version, xml=found.xml,
                   instances=heat.instances,
                   counts=counts_json(heat))
