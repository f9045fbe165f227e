"""The background jobs (/console/jobs): every job, newest first, with its progress — for
the console's viewers; a job's own page is /jobs/<id> (``web.jobs``)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from engine.services import jobs

from ..api.jobs import percent
from ..runtime import runtime
from . import bp


@bp.get("/jobs")
def jobs_list() -> Any:
    with runtime().uow(write=False) as uow:
        rows = jobs.list_jobs(uow)
    return render_template("console/jobs.html", rows=rows,
                           percents={j.id: percent(j.done, j.total, j.status) for j in rows})
