"""GET /console/dashboard (the page: figures, tables, and the charts' data in a ``data-``
attribute) and GET /console/dashboard/data (the same figures as JSON, for scripts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from engine.programme.services import dashboard as figures
from engine.services import admin_rule

from ..runtime import runtime
from ..tasks.labels import LEVELS, RISK_CATEGORIES
from . import CACHE, bp
from .schemas import YearSchema, errors_text

MILESTONES = {"launch": _l("Launch"), "rollout": _l("Rollout to every unit"),
              "initial_network": _l("Initial network"),
              "long_term_mechanism": _l("Long-term mechanism")}
MILESTONE_STATES = {"not_started": _l("Campaign not started"), "pending": _l("Ahead"),
                    "warned": _l("Warned (yellow cards sent)"),
                    "due": _l("Deadline passed, checkpoint open"), "checked": _l("Checked")}


def _year() -> tuple[int | None, dict[str, list[str]]]:
    try:
        return YearSchema().load(request.args)["year"], {}
    except ma.ValidationError as exc:
        return None, errors_text(exc.normalized_messages())


def _load(year: int | None) -> figures.Dashboard:
    near = timedelta(days=float(current_app.config["IRPM_NEAR_DUE_DAYS"]))
    with runtime().uow(write=False) as uow:
        return figures.dashboard(uow, year, near_due=near, cache=current_app.extensions[CACHE])


def labels() -> dict[str, Any]:
    """The charts' captions in the user's language."""
    return {
        "levels": [str(LEVELS[str(lv)]) for lv in figures.LEVELS],
        "categories": [str(RISK_CATEGORIES[c]) for c in figures.CATEGORIES],
        "milestones": {k: str(v) for k, v in MILESTONES.items()},
        "overdue": str(_l("Overdue (red card)")), "near_due": str(_l("Due soon (yellow card)")),
        "posts": str(_l("Posts")), "risk_points": str(_l("Risk points")),
        "coverage": str(_l("Coverage (%)")),
        "from_report": str(_l("report")), "graded_so_far": str(_l("posts graded so far")),
    }


@bp.get("/dashboard")
def index() -> Any:
    year, errors = _year()
    found = _load(year)
    may_move_clock = admin_rule.may_administer(g.actor) and found.simulated
    return render_template(
        "dashboard/index.html", d=found, errors=errors, charts=found.chart_data(),
        chart_labels=labels(), weights=figures.SCORE_WEIGHTS, milestone_names=MILESTONES,
        milestone_states=MILESTONE_STATES, may_move_clock=may_move_clock,
    ), 400 if errors else 200


@bp.get("/dashboard/data")
def data() -> Any:
    year, errors = _year()
    if errors:
        return jsonify(code=400, message="invalid query", errors=errors), 400
    found = _load(year)
    return jsonify(now=found.now.isoformat(), simulated=found.simulated, labels=labels(),
                   charts=found.chart_data(),
                   ranking=[{"rank": u.rank, "unit": u.code, "score": u.score,
                             "posts": u.posts, "graded": u.graded, "published": u.published,
                             "open_tasks": u.open_tasks, "overdue": u.overdue,
                             "near_due": u.near_due, "assessment": u.assessment}
                            for u in found.units])
