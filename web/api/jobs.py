"""Background jobs (the instances a mobilisation starts): one job's progress, for whoever
started it or an administrator — what the progress bar after submitting polls."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine.services import jobs

from ..runtime import runtime
from .base import Blueprint, actor

bp = Blueprint("jobs", __name__, url_prefix="/jobs",
               description="Background jobs: bulk instance starts and their progress")


class JobSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    instance_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(required=True, metadata={
        "description": "queued, running, done or failed"})
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    percent = ma.fields.Method("_percent", metadata={"description": "0–100"})
    message = ma.fields.String(allow_none=True)
    started_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    error = ma.fields.String(allow_none=True)

    def _percent(self, job: Any) -> int:
        return percent(job.done, job.total, job.status)


def percent(done: int, total: int, status: str) -> int:
    """How far a job got, 0–100 (a done job is at 100 whatever its counts)."""
    if status == "done":
        return 100
    return round(100 * done / total) if total else 0


@bp.route("/<int:job_id>")
@bp.response(200, JobSchema)
@bp.refuses(401, 403, 404)
def get_job(job_id: int) -> Any:
    """One background job: status and progress"""
    with runtime().uow(write=False) as uow:
        return jobs.get_job(uow, job_id, actor())
