"""The job page, and where a page goes after a step that queued a job."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, url_for
from flask_babel import lazy_gettext as _l

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.services import jobs

from ..api.jobs import percent
from ..runtime import runtime
from . import bp

#: What each kind of job does, as its page names it.
KINDS = {"start_calls": _l("Starting the process instances a step called for"),
         "batch": _l("Batch operation")}


@bp.get("/<int:job_id>")
def show(job_id: int) -> Any:
    with runtime().uow(write=False) as uow:
        job = jobs.get_job(uow, job_id, g.actor)
    return render_template("jobs/job.html", job=job, kind=KINDS.get(job.kind, job.kind),
                           percent=percent(job.done, job.total, job.status),
                           progress_url=url_for("api.jobs.get_job", job_id=job.id))


def queued_by_step(uow: UnitOfWork, instance_id: int, actor: Actor) -> int | None:
    """The job a step of ``actor`` on ``instance_id`` just queued (to show its progress
    next), if any."""
    mine = [j for j in jobs.open_jobs_for(uow, instance_id) if j.started_by == actor.user]
    return mine[-1].id if mine else None
