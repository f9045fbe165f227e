"""The scheduler's jobs: thin functions that build a unit of work from the engine ``Runtime``
and call an engine service. No Flask app context.

APScheduler persists a job by a textual reference to its function (``scheduler.jobs:...``)
and its arguments, so a job cannot carry the runtime: each leading ``SchedulerService`` runs
its jobs on a thread pool whose threads are handed its ``JobContext`` as they start
(``enter``), so schedulers leading different databases could even share a process.

================ ============================= ==============================================
job id           function (when)               what it does
================ ============================= ==============================================
``bpmn-timers``  ``fire_timers`` (a date job   ``fire_due_timers``: every BPMN timer due by
                 at the earliest due timer;    the system clock fires; then re-armed
                 ``arming``)
``due-cards``    ``scan_cards`` (every         ``scan_due_cards``: yellow and red cards for
                 ``IRPM_SCHEDULER_CARDS_EVERY`` tasks near or past their due date
                 seconds)
``pending-mail`` ``send_mail`` (every          ``send_pending_mail``, where the engine has
                 ``IRPM_SCHEDULER_MAIL_EVERY`` it: the e-mail outbox
                 seconds)
``background``   ``run_jobs`` (every           ``run_pending_jobs``: the queued background
                 ``IRPM_SCHEDULER_JOBS_EVERY`` jobs (the instances a mobilisation
                 seconds)                      starts), in batched transactions
================ ============================= ==============================================

While the project clock is simulated (a rehearsal), wall time means nothing to it: the timer
job and the card scan do nothing, and the clock commands fire what falls due
(``engine.services.advance_to``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.runtime import Runtime
from engine.services import clock, due_cards, mail_outbox, timers
from engine.services import jobs as background

if TYPE_CHECKING:
    from .arming import Arming
    from .config import SchedulerSettings

log = logging.getLogger(__name__)

TIMER_JOB = "bpmn-timers"
CARDS_JOB = "due-cards"
MAIL_JOB = "pending-mail"
BACKGROUND_JOB = "background"


class JobContext:
    """What the jobs of one leading scheduler need: the runtime and the timer arming (set
    once the scheduler exists)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._arming: Arming | None = None

    @property
    def arming(self) -> Arming:
        if self._arming is None:
            raise RuntimeError("the scheduler's timer arming is not set up yet")
        return self._arming

    @arming.setter
    def arming(self, arming: Arming) -> None:
        self._arming = arming


_local = threading.local()


def enter(context: JobContext) -> None:
    """Run in each new thread of a scheduler's job pool: its jobs belong to ``context``."""
    _local.context = context


def context() -> JobContext:
    found: JobContext | None = getattr(_local, "context", None)
    if found is None:
        raise RuntimeError("a scheduler job ran outside a scheduler's job pool")
    return found


# --------------------------------------------------------------------------- the jobs


def fire_timers() -> int:
    """Fire every BPMN timer due by the system clock; the arming re-arms for the next one.
    Returns how many firings happened (0 while the clock is simulated)."""
    ctx = context()
    fired, failed = 0, True
    ctx.arming.begin_firing()
    try:
        with ctx.rt.uow() as uow:
            if clock.is_simulated(uow):
                failed = False
                return 0
            fired = timers.fire_due_timers(uow)
        failed = False
        if fired:
            log.info("fired %d timer(s)", fired)
        return fired
    finally:
        ctx.arming.end_firing(fired, failed=failed)


def scan_cards() -> None:
    """Yellow and red cards for tasks near or past their due date (by the system clock)."""
    rt = context().rt
    with rt.uow() as uow:
        if clock.is_simulated(uow):
            return
        scan = due_cards.scan_due_cards(uow)
    if scan.yellow or scan.red:
        log.info("cards: %d yellow, %d red", scan.yellow, scan.red)


def send_mail() -> None:
    """Send the e-mail the engine has queued, if this engine queues e-mail."""
    rt = context().rt
    with rt.uow() as uow:
        mail_outbox.send_pending_mail(uow, clock.now(uow))


def run_jobs() -> int:
    """Run the queued background jobs to their end (whatever the clock: a mobilisation
    during a rehearsal starts its cycles too); returns how many ran."""
    rt = context().rt
    with rt.uow(write=False) as uow:
        if not background.has_pending_jobs(uow):
            return 0
    with rt.uow() as uow:
        ran = background.run_pending_jobs(uow)
    if ran:
        log.info("ran %d background job(s)", ran)
    return ran


@dataclass(frozen=True)
class Periodic:
    """A job run every ``seconds`` (0: not scheduled)."""

    job_id: str
    name: str
    func: Callable[[], Any]
    seconds: float


def periodic_jobs(settings: SchedulerSettings) -> list[Periodic]:
    return [
        Periodic(CARDS_JOB, "yellow and red cards", scan_cards, settings.cards_every_seconds),
        Periodic(MAIL_JOB, "pending e-mail", send_mail, settings.mail_every_seconds),
        Periodic(BACKGROUND_JOB, "background jobs", run_jobs, settings.jobs_every_seconds),
    ]
