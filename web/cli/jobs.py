"""``irpm jobs run|list`` — background jobs (the instances a mobilisation starts), which the
scheduler runs every ``IRPM_SCHEDULER_JOBS_EVERY`` seconds; ``run`` runs them now, with a
progress bar on a terminal."""

from __future__ import annotations

import sys
from typing import Any

import click

from engine.models import Job
from engine.services import jobs as jobs_service

from .format import Column
from .state import State, pass_state


@click.group()
def jobs() -> None:
    """Background jobs: bulk instance starts."""


class Bars:
    """One click progress bar per job, drawn on a terminal only (``jobs_service.Progress``)."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self._bars: dict[int, Any] = {}
        self._shown: dict[int, int] = {}

    def __call__(self, job: Job) -> None:
        if not self.show:
            return
        bar = self._bars.get(job.id)
        if bar is None:
            bar = self._bars[job.id] = click.progressbar(
                length=max(job.total, 1), label=f"job {job.id} ({job.kind})", file=sys.stderr)
            bar.__enter__()
        bar.update(job.done - self._shown.get(job.id, 0))
        self._shown[job.id] = job.done
        if job.finished:
            bar.__exit__(None, None, None)


@jobs.command("run")
@pass_state
def jobs_run(state: State) -> None:
    """Run every queued background job to its end."""
    with state.rt.uow() as uow:
        ran = jobs_service.run_pending_jobs(uow, Bars(sys.stderr.isatty()))
    with state.rt.uow(write=False) as uow:
        listed = jobs_service.list_jobs(uow, limit=ran) if ran else []
    failed = [j for j in listed if j.status == "failed"]
    state.say({"ran": ran, "failed": [j.id for j in failed]},
              f"{ran} job(s) run" + "".join(f"\njob {j.id} failed: {j.error}" for j in failed))


@jobs.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@pass_state
def jobs_list(state: State, limit: int) -> None:
    """The latest background jobs, newest first."""
    with state.rt.uow(write=False) as uow:
        rows = [{"id": j.id, "kind": j.kind, "instance_id": j.instance_id,
                 "status": j.status, "done": j.done, "total": j.total,
                 "started_by": j.started_by, "created_at": j.created_at,
                 "message": j.error or j.message}
                for j in jobs_service.list_jobs(uow, limit)]
    state.listing(rows, [Column("ID", "id"), Column("KIND", "kind"),
                         Column("INSTANCE", "instance_id"), Column("STATUS", "status"),
                         Column("DONE", "done"), Column("TOTAL", "total"),
                         Column("BY", "started_by"), Column("CREATED", "created_at"),
                         Column("MESSAGE", "message")], "no jobs")
