"""Time and memory budgets for the code of deployed diagrams (scripts, conditions, DMN cells).

A designer's ``while True: pass`` used to run forever inside the transaction that met it —
on SQLite holding the write lock, so every other user's write waited and failed. The sandbox
(``engine.scripting``) now runs each evaluation under a ``ScriptBudget``; going over it raises
``BudgetExceeded`` (an ordinary ``Exception``), which the engine turns into ``error`` on that
one instance, naming the element and the budget, and the transaction ends.

Why in-process, measured on this machine: a forked worker with ``RLIMIT_AS`` bounds
everything, but each evaluation would pay a pipe round trip and a pickle of the task data,
and a decision table evaluates dozens of cells per step. Here instead:

* **Python-level work** (loops, comprehensions, generators, recursion of script functions)
  is stopped by one watchdog thread per process: past the deadline it raises an exception in
  the script's thread with ``PyThreadState_SetAsyncExc`` (delivered within one bytecode;
  ``while True: pass`` stops ~1 ms after its budget). The same tick reads the process's
  resident memory and stops a script under which it grew by more than the memory budget.
* **Single C-level operations** cannot be interrupted that way (``sum(range(10**8))`` ran its
  1.7 s to the end before the exception landed), so the ones that can be made huge by a
  short text are checked *before* they run: ``*`` (``[0] * 10**9``, ``'a' * 10**10``), ``**``
  and ``pow`` (``9 ** 9 ** 9``), ``<<`` on ints, and ``range``: a range of more than
  ``LAZY_RANGE_ITEMS`` items iterates in Python, so ``sorted(range(10**9))`` or
  ``sum(range(10**12))`` becomes interruptible work that meets the budgets above. Text
  whose length a number sets is checked too: ``str`` ``ljust``/``rjust``/``center``/
  ``zfill``/``expandtabs``/``replace``/``join``, ``%`` widths and f-string format specs.
* Deep recursion meets Python's own recursion limit (``RecursionError``) within
  milliseconds; exceptions the budget raises derive from ``BaseException``, and the sandbox
  refuses bare ``except:`` and offers no ``BaseException``, so a script cannot swallow them.

The watchdog starts afresh in a forked child (a gunicorn worker of a preloaded app).

Known limits, said plainly: the memory check reads the whole process every 10 ms, so
another thread's growth in that time counts against the script, and a fast allocation can
overshoot by what it allocates in one tick; ``[s] * n`` counts the list's slots, not what
they refer to, so one C call over it (``str([s] * 100)`` of a 100 MB ``s``) completes
before it is stopped. Closing those would need the out-of-process worker.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["LAZY_RANGE_ITEMS", "MAX_INT_BITS", "BudgetExceeded", "ScriptBudget",
           "current_budget", "memory_exceeded", "run_within"]

T = TypeVar("T")

#: Bits of the largest int one ``*``, ``**`` or ``<<`` may produce (~315,000 digits):
#: multiplying two such numbers takes ~55 ms here, four times as many bits ~0.6 s, and
#: nothing a process stores needs more (JSON ints, and ``str()`` of ints over 4,300 digits,
#: are refused anyway).
MAX_INT_BITS = 1 << 20
#: Ranges longer than this iterate in Python, where the watchdog can stop them; shorter ones
#: stay C ranges (``sum(range(10**6))`` takes ~20 ms).
LAZY_RANGE_ITEMS = 1_000_000
#: How often the watchdog looks at running scripts (deadline, memory).
TICK_SECONDS = 0.01
#: The watchdog goes to sleep after this long without a script (and is woken by the next).
IDLE_AFTER = 2.0
#: A stopped script that still runs after this long (it was in a ``finally``) is stopped again.
REFIRE_SECONDS = 0.25


@dataclass(frozen=True)
class ScriptBudget:
    """What one evaluation may spend: wall seconds and growth of resident memory (MB)."""

    seconds: float = 2.0
    memory_mb: int = 256

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024


class BudgetExceeded(Exception):
    """A script, condition or cell went over its time or memory budget; ``kind`` is
    ``"time"`` or ``"memory"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def time_exceeded(budget: ScriptBudget) -> BudgetExceeded:
    return BudgetExceeded("time", f"time budget exceeded: the script ran longer than "
                                  f"{budget.seconds:g} s (IRPM_SCRIPT_TIME_LIMIT)")


def memory_exceeded(budget: ScriptBudget, what: str = "the script") -> BudgetExceeded:
    return BudgetExceeded("memory", f"memory budget exceeded: {what} needs more than "
                                    f"{budget.memory_mb} MB (IRPM_SCRIPT_MEMORY_LIMIT)")


class _Interrupt(BaseException):
    """Raised inside the script's thread by the watchdog; a ``BaseException`` so that a
    script's ``except Exception`` cannot catch it."""


class _TimeInterrupt(_Interrupt):
    pass


class _MemoryInterrupt(_Interrupt):
    pass


def _resident_bytes() -> int | None:
    """The process's resident memory (Linux ``/proc``); ``None`` where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


try:
    import os
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
    _PAGE = 4096


class _Run:
    __slots__ = ("budget", "deadline", "fired_at", "resident_at_start", "thread_id")

    def __init__(self, thread_id: int, budget: ScriptBudget) -> None:
        self.thread_id = thread_id
        self.budget = budget
        self.deadline = time.monotonic() + budget.seconds
        self.resident_at_start: int | None = None  # read by the watchdog's first look
        self.fired_at: float | None = None


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule ``exc`` in the thread (``None`` cancels one not yet delivered)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)


class _Watchdog:
    """One daemon thread per process, awake only while some script runs."""

    def __init__(self) -> None:
        self._start_afresh()

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        #: Whether the watchdog waits for ``_wake``. While it ticks (a script ran within
        #: ``IDLE_AFTER``), arming costs no wake-up: waking it per evaluation made every
        #: call hand the GIL over, ~5 µs on a DMN cell of 0.4 µs.
        self._idle = True

    def arm(self, budget: ScriptBudget) -> _Run | None:
        """Start watching this thread; ``None`` when it is already watched (a nested call
        runs on the outer budget)."""
        thread_id = threading.get_ident()
        run = _Run(thread_id, budget)
        with self._lock:
            if thread_id in self._runs:
                return None
            self._runs[thread_id] = run
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="irpm-script-watchdog",
                                                daemon=True)
                self._thread.start()
            wake, self._idle = self._idle, False
        if wake:
            self._wake.set()
        return run

    def running(self, thread_id: int) -> _Run | None:
        return self._runs.get(thread_id)

    def disarm(self, run: _Run) -> None:
        """Stop watching; cancel an interruption scheduled but not yet delivered. Retried
        if the interruption lands in here, so that it never escapes past this point."""
        while True:
            try:
                with self._lock:
                    if self._runs.get(run.thread_id) is run:
                        del self._runs[run.thread_id]
                    if run.fired_at is not None:
                        _raise_in(run.thread_id, None)
                return
            except _Interrupt:
                continue

    def _loop(self) -> None:
        quiet_since = time.monotonic()
        while True:
            self._wake.wait()
            time.sleep(TICK_SECONDS)
            with self._lock:
                runs = list(self._runs.values())
                if runs:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > IDLE_AFTER:
                    self._idle = True
                    self._wake.clear()
            if not runs:
                continue
            resident = _resident_bytes()
            with self._lock:
                for run in runs:
                    if self._runs.get(run.thread_id) is run:
                        self._check(run, resident)

    @staticmethod
    def _check(run: _Run, resident: int | None) -> None:
        now = time.monotonic()
        if run.fired_at is not None:
            if now - run.fired_at >= REFIRE_SECONDS:
                run.fired_at = now
                _raise_in(run.thread_id, _TimeInterrupt)
            return
        if resident is not None and run.resident_at_start is None:
            run.resident_at_start = resident
        if (resident is not None and run.resident_at_start is not None
                and resident - run.resident_at_start > run.budget.memory_bytes):
            run.fired_at = now
            _raise_in(run.thread_id, _MemoryInterrupt)
        elif now >= run.deadline:
            run.fired_at = now
            _raise_in(run.thread_id, _TimeInterrupt)


    def forget_after_fork(self) -> None:
        """In a forked child (a gunicorn worker of a preloaded app) the watchdog thread is
        gone and the lock may be held by a thread that no longer exists: start afresh."""
        self._start_afresh()


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG.forget_after_fork)


def run_within(budget: ScriptBudget, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` stopped with ``BudgetExceeded`` once it goes over ``budget``.

    While it runs, the size checks below (``guarded_mul`` & co.) measure against ``budget``.
    A nested call (a helper evaluating more code) runs on the outermost budget.
    """
    run = _WATCHDOG.arm(budget)
    if run is None:
        return fn(*args)
    try:
        try:
            return fn(*args)
        finally:
            _WATCHDOG.disarm(run)
    except _MemoryInterrupt:
        _WATCHDOG.disarm(run)
        raise memory_exceeded(budget) from None
    except _Interrupt:
        _WATCHDOG.disarm(run)
        raise time_exceeded(budget) from None


def current_budget() -> ScriptBudget:
    """The budget of the evaluation running in this thread (the default outside one)."""
    run = _WATCHDOG.running(threading.get_ident())
    return run.budget if run is not None else _DEFAULT


_DEFAULT = ScriptBudget()
