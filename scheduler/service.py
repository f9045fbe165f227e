"""``SchedulerService``: an APScheduler ``BackgroundScheduler`` that leads or stands by.

Embedded (``irpm serve``, ``IRPM_SCHEDULER=embedded``, the default) or a process of its own
(``irpm scheduler``; web workers then run none, ``IRPM_SCHEDULER=off``), it is the same
object:

* a **control** thread takes the lead (``leader``) or waits as standby; while leading it runs
  the APScheduler ``BackgroundScheduler`` — jobs persisted in the database through
  ``SQLAlchemyJobStore`` (table ``apscheduler_jobs``, migration 0010) — and hears of other
  processes' timer changes (PostgreSQL ``LISTEN``; SQLite ``data_version``);
* an **arming** thread re-arms the one BPMN timer job (``arming``) whenever it is asked to —
  after every commit that changed timers in this process (the runtime's timer listener),
  on news from other processes — and at the latest every ``IRPM_SCHEDULER_SWEEP`` seconds
  (the safety sweep, which also checks the job store).

On taking the lead, the scheduler starts paused, arms the timer job from the database,
keeps the periodic jobs whose schedule is unchanged (so a run missed while no scheduler ran
happens once, now: jobs coalesce and have no misfire grace limit), then resumes. A BPMN
timer that fell due while no scheduler ran fires at once, exactly once — the engine removes
or advances a timer in the transaction that fires it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from datetime import UTC
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from engine.db import is_sqlite
from engine.models import SCHEDULER_JOBS_TABLE
from engine.runtime import Runtime

from . import jobs
from .arming import Arming
from .config import SchedulerSettings
from .leader import Leadership, LeadershipLost, identity, leadership_for

log = logging.getLogger(__name__)

#: Seconds to wait before trying again after the database failed the control thread.
BACKOFF_SECONDS = 5.0


class SchemaMissing(RuntimeError):
    """The database has no job store table: it is not migrated."""


class JobStore(SQLAlchemyJobStore):
    """APScheduler's job store on the runtime's engine, which it must not dispose of, in the
    table migration 0010 made — never one it creates itself (that would be schema outside
    the migrations, and 0010 would then fail)."""

    def start(self, scheduler: Any, alias: str) -> None:
        BaseJobStore.start(self, scheduler, alias)
        with self.engine.connect() as connection:
            if not inspect(connection).has_table(self.jobs_t.name):
                raise SchemaMissing(f"the database has no {self.jobs_t.name} table: run "
                                    "`irpm db upgrade`")

    def shutdown(self) -> None:
        pass


class SchedulerService:
    def __init__(self, rt: Runtime, settings: SchedulerSettings | None = None, *,
                 leadership: Leadership | None = None) -> None:
        self.rt = rt
        self.settings = settings or SchedulerSettings.from_env()
        self.identity = identity()
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._leading = threading.Event()
        self._leadership = leadership or leadership_for(rt.settings.database_url, self._stop)
        self._scheduler: BackgroundScheduler | None = None
        self._arming: Arming | None = None
        self._threads: list[threading.Thread] = []
        self._standby_noted = False
        self._stop_requested = False

    # ----------------------------------------------------------------------- lifecycle

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    @property
    def scheduler(self) -> BackgroundScheduler | None:
        return self._scheduler

    @property
    def arming(self) -> Arming | None:
        return self._arming

    def start(self) -> SchedulerService:
        if self._threads:
            raise RuntimeError("this scheduler has already been started")
        self.rt.add_timer_listener(self._timers_changed)
        for name, target in (("control", self._control), ("arming", self._arm_loop)):
            thread = threading.Thread(target=target, name=f"irpm-scheduler-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop leading or standing by; waits (up to ``timeout``) for a running job."""
        self._stop.set()
        self._dirty.set()
        self.rt.remove_timer_listener(self._timers_changed)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def request_stop(self) -> None:
        """Ask ``wait`` to stop the service; safe in a signal handler (sets a flag only)."""
        self._stop_requested = True

    def wait(self) -> None:
        """Block until ``request_stop`` (a signal handler) or ``stop`` (another thread), then
        stop."""
        while not self._stop.wait(0.2):
            if self._stop_requested:
                break
        self.stop()

    def wait_leading(self, timeout: float) -> bool:
        return self._leading.wait(timeout)

    def request_arm(self) -> None:
        """Re-arm the timer job soon (the arming thread does it)."""
        self._dirty.set()

    def _timers_changed(self, _rt: Runtime) -> None:
        self._dirty.set()

    # ----------------------------------------------------------------------- threads

    def _control(self) -> None:
        while not self._stop.is_set():
            try:
                if self._leadership.acquire():
                    self._lead()
                    continue
                if not self._standby_noted:
                    log.info("scheduler %s stands by: another one holds the %s",
                             self.identity, self._leadership.describe())
                    self._standby_noted = True
                self._stop.wait(self.settings.standby_poll_seconds)
            except SchemaMissing as exc:
                log.error("scheduler %s cannot start: %s; trying again in %.0f s",
                          self.identity, exc, BACKOFF_SECONDS)
                self._stop.wait(BACKOFF_SECONDS)
            except LeadershipLost as exc:
                log.warning("scheduler %s: %s; trying again in %.0f s", self.identity, exc,
                            BACKOFF_SECONDS)
                self._stop.wait(BACKOFF_SECONDS)
            except Exception:
                log.exception("scheduler %s failed; trying again in %.0f s", self.identity,
                              BACKOFF_SECONDS)
                self._stop.wait(BACKOFF_SECONDS)

    def _lead(self) -> None:
        log.info("scheduler %s leads (%s)", self.identity, self._leadership.describe())
        self._standby_noted = False
        try:
            self._start_scheduler()
            self._leading.set()
            while not self._stop.is_set():
                if self._leadership.wait(self.settings.sweep_seconds):
                    self._dirty.set()
        finally:
            self._leading.clear()
            self._stop_scheduler()
            self._leadership.release()
            if not self._stop.is_set():
                log.warning("scheduler %s no longer leads", self.identity)

    def _arm_loop(self) -> None:
        while not self._stop.is_set():
            heard = self._dirty.wait(self.settings.sweep_seconds)
            self._dirty.clear()
            arming = self._arming
            if self._stop.is_set() or arming is None or not self.leading:
                continue
            try:
                arming.arm(verify=not heard)
            except Exception:
                log.exception("the BPMN timer job could not be armed; the next sweep retries")

    # ----------------------------------------------------------------------- APScheduler

    def _start_scheduler(self) -> None:
        db = self.rt.db
        if is_sqlite(db):
            # Job-store transactions take SQLite's write lock from their start, like every
            # engine write, so they queue behind the engine's instead of failing.
            db = db.execution_options(irpm_write=True)  # type: ignore[assignment]
        context = jobs.JobContext(self.rt)
        pool = ThreadPoolExecutor(max_workers=2, pool_kwargs={
            "initializer": jobs.enter, "initargs": (context,),
            "thread_name_prefix": "irpm-scheduler-job"})
        scheduler = BackgroundScheduler(
            jobstores={"default": JobStore(engine=db, tablename=SCHEDULER_JOBS_TABLE)},
            executors={"default": pool},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC, daemon=True)
        self._scheduler = scheduler
        scheduler.start(paused=True)
        arming = Arming(self.rt, scheduler, retry_seconds=self.settings.retry_seconds)
        context.arming = arming
        self._arming = arming
        self._reconcile_periodic(scheduler)
        armed = arming.arm(verify=True)
        scheduler.resume()
        log.info("BPMN timers armed for %s", armed.isoformat() if armed else "nothing (none "
                 "pending, or the clock is simulated)")

    def _reconcile_periodic(self, scheduler: BackgroundScheduler) -> None:
        for spec in jobs.periodic_jobs(self.settings):
            existing = scheduler.get_job(spec.job_id)
            if spec.seconds <= 0:
                if existing is not None:
                    scheduler.remove_job(spec.job_id)
                continue
            trigger = IntervalTrigger(seconds=spec.seconds, timezone=UTC)
            if (existing is not None and isinstance(existing.trigger, IntervalTrigger)
                    and existing.trigger.interval == trigger.interval):
                continue  # kept as persisted: a run missed while down happens once, now
            scheduler.add_job(spec.func, trigger, id=spec.job_id, name=spec.name,
                              replace_existing=True)

    def _stop_scheduler(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        self._arming = None
        if scheduler is not None:
            with contextlib.suppress(Exception):
                scheduler.shutdown(wait=True)


def start_embedded(rt: Runtime, settings: SchedulerSettings | None = None
                   ) -> SchedulerService | None:
    """The embedded scheduler of a web process, unless ``IRPM_SCHEDULER=off``; stopped when
    the process exits."""
    settings = settings or SchedulerSettings.from_env()
    if not settings.embedded:
        return None
    service = SchedulerService(rt, settings).start()
    atexit.register(service.stop, 5.0)
    return service
