"""One date job, at the engine's earliest due timer: arming and re-arming it.

The engine keeps every waiting timer of a running instance in the indexed ``timer`` table;
``engine.services.next_due`` is the earliest. The scheduler holds exactly one job for BPMN
timers (``jobs.TIMER_JOB``), a date job at that time, and re-arms it

* whenever a transaction changed the timers (the runtime's timer listeners in this process;
  ``NOTIFY irpm_timers`` from other processes on PostgreSQL) — ``SchedulerService`` hears of
  it and calls ``arm``;
* at the end of each run of the job (``end_firing``): the fired timers are gone, cycles moved
  on to their next period;
* on the slow safety sweep (``arm(verify=True)``), which also checks the job store.

While the job runs, ``arm`` leaves it alone (the job re-arms when it ends), so the firing's own
commits do not arm a job that would be skipped as already running. A timer still due after a
run that fired nothing, or failed, is tried again ``retry_seconds`` later, not in a loop.
While the clock is simulated nothing is armed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from engine.runtime import Runtime
from engine.services import clock, timers

from . import jobs

log = logging.getLogger(__name__)

#: Two run times closer than this are the same (the job store keeps a float timestamp).
SAME_TIME = timedelta(milliseconds=1)


class Arming:
    def __init__(self, rt: Runtime, scheduler: BaseScheduler, *, retry_seconds: float) -> None:
        self.rt = rt
        self.scheduler = scheduler
        self.retry = timedelta(seconds=retry_seconds)
        self._lock = threading.Lock()
        self._firing = False
        #: What the job store holds, as far as this arming knows (None: no job).
        self._armed: datetime | None = None
        self._known = False
        #: Not before this time: a due timer that could not be fired waits for its retry.
        self._hold_until: datetime | None = None

    @property
    def armed_at(self) -> datetime | None:
        return self._armed

    def arm(self, *, verify: bool = False) -> datetime | None:
        """Arm the timer job at the earliest due timer (or remove it: none, or the clock is
        simulated); ``verify`` reads the job store instead of trusting what was armed last.
        Returns the time armed."""
        with self._lock:
            if self._firing:
                return self._armed
            target = self._target()
            if verify:
                self._known = False
            self._set(target)
            return target

    def begin_firing(self) -> None:
        with self._lock:
            self._firing = True
            # The scheduler took the date job out of the store when it ran it.
            self._armed, self._known = None, True

    def end_firing(self, fired: int, *, failed: bool) -> None:
        with self._lock:
            self._firing = False
            try:
                target = self._target()
                now = datetime.now(UTC)
                if target is not None and target <= now and (failed or not fired):
                    # Still due though this run fired nothing: a lost race, a broken
                    # instance, a database hiccup. Try again later, not at once.
                    self._hold_until = now + self.retry
                    log.warning("a timer due at %s could not be fired; trying again at %s",
                                target.isoformat(), self._hold_until.isoformat())
                    target = self._hold_until
                self._set(target)
            except Exception:
                # The database is unreachable: the safety sweep re-arms later.
                self._known = False
                log.exception("the timer job could not be re-armed")

    # ----------------------------------------------------------------------- inside the lock

    def _target(self) -> datetime | None:
        with self.rt.uow(write=False) as uow:
            if clock.is_simulated(uow):
                return None
            due = timers.next_due(uow)
        if due is not None and self._hold_until is not None:
            if self._hold_until <= datetime.now(UTC):
                self._hold_until = None
            elif due < self._hold_until:
                due = self._hold_until
        return due

    def _set(self, target: datetime | None) -> None:
        if not self._known:
            job = self.scheduler.get_job(jobs.TIMER_JOB)
            self._armed, self._known = (job.next_run_time if job else None), True
        if _same(self._armed, target):
            return
        if target is None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(jobs.TIMER_JOB)
            log.debug("no BPMN timer to wait for")
        else:
            self.scheduler.add_job(
                jobs.fire_timers, DateTrigger(run_date=target, timezone=UTC),
                id=jobs.TIMER_JOB, name="BPMN timers", replace_existing=True,
                misfire_grace_time=None, coalesce=True, max_instances=1)
            log.debug("BPMN timers armed for %s", target.isoformat())
        self._armed = target


def _same(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < SAME_TIME
