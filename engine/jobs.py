"""Call activities that start their children in the background.

A call activity marked ``startsInBackground`` (an extension property, like Camunda's
"asynchronous before") does not start its child instances in the step that reaches it:
saving that step queues one ``start_calls`` job for the caller and the step ends at once.
The job (``engine.services.jobs``) checks the caller out in one transaction per batch and
lets that save start so many of the waiting calls (``Transaction allowance``), the rest
waiting for the next batch. The mobilisation of a city campaign starts one unit cycle per
unit, each of which starts one post cycle per post — 588 instances — and the person who
completed the mobilisation waited 13 s for them in the request.

Exactly once, whatever crashes: a call's child id is written into the caller's state
(``calls.CHILD``) in the transaction that inserts the child, so a batch either commits both
or neither, and the next batch starts only the calls that still have no child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from SpiffWorkflow.task import Task
from sqlalchemy import select

from .models import OPEN_JOB_STATUSES, Job, JobStatus

if TYPE_CHECKING:
    from .db import UnitOfWork
    from .execution.checkout import Live

#: The call activity's extension property that sends its child starts to a job.
BACKGROUND_PROPERTY = "startsInBackground"
#: The job kind that starts a caller's background calls.
START_CALLS = "start_calls"


def in_background(task: Task) -> bool:
    """Whether ``task`` (a call activity) starts its children in a background job."""
    properties = getattr(task.task_spec, "extensions", {}).get("properties", {})
    return str(properties.get(BACKGROUND_PROPERTY, "")).strip().lower() == "true"


def calls_to_start(uow: UnitOfWork, live: Live, calls: list[Task]) -> list[Task]:
    """Of the call tasks waiting for a child, those this save starts: every call not marked
    for the background, and as many marked ones as the transaction's allowance for this
    caller says (``UnitOfWork.call_allowance``, set by the job). Marked calls beyond that,
    outside a job, queue a job for the caller (one per caller)."""
    inline = [t for t in calls if not in_background(t)]
    background = [t for t in calls if in_background(t)]
    if not background:
        return calls
    allowance = uow.call_allowance.get(live.instance.id)
    if allowance is None:
        queue_start_calls(uow, live, len(background))
        return inline
    now = background[:max(allowance, 0)]
    uow.call_allowance[live.instance.id] = allowance - len(now)
    return inline + now


def queue_start_calls(uow: UnitOfWork, live: Live, waiting: int) -> None:
    """Queue a ``start_calls`` job for ``live``'s instance, unless one is open already;
    it is recorded as started by whoever acted in this step (the user who completed the
    task that reached the call activity), else by whoever started the instance."""
    session = uow.session
    if session.scalar(select(Job.id).where(
            Job.kind == START_CALLS, Job.instance_id == live.instance.id,
            Job.status.in_(OPEN_JOB_STATUSES)).limit(1)) is not None:
        return
    actor = next((e["actor"] for e in reversed(live.events) if e.get("actor")),
                 live.instance.started_by)
    session.add(Job(kind=START_CALLS, parameters={}, instance_id=live.instance.id,
                    status=JobStatus.QUEUED.value, done=0, total=waiting, started_by=actor,
                    created_at=live.now))
