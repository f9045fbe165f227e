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
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["LAZY_RANGE_ITEMS", "MAX_INT_BITS", "BudgetExceeded", "ScriptBudget",
           "budgeted_range", "guarded_format", "guarded_lshift", "guarded_mod", "guarded_mul",
           "guarded_pow", "run_within", "sized_str_method"]

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


def _budget() -> ScriptBudget:
    """The budget of the evaluation running in this thread (the default outside one)."""
    run = _WATCHDOG.running(threading.get_ident())
    return run.budget if run is not None else _DEFAULT


_DEFAULT = ScriptBudget()

# --------------------------------------------------------------- checks before C operations

_ITEM_BYTES: dict[type, int] = {str: 1, bytes: 1, list: 8, tuple: 8}


def _sequence_bytes(seq: Any, times: Any) -> int | None:
    item = _ITEM_BYTES.get(type(seq))
    if item is None or not isinstance(times, int) or isinstance(times, bool):
        return None
    if isinstance(seq, str) and not seq.isascii():
        item = 4
    return len(seq) * max(times, 0) * item


def _int_bits(value: Any) -> int | None:
    return value.bit_length() if isinstance(value, int) else None


def _refuse_int(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise BudgetExceeded("memory", f"memory budget exceeded: the result would be a number "
                             f"of about {int(bits):,} bits; at most {MAX_INT_BITS:,} are "
                             "allowed")


def guarded_mul(left: Any, right: Any) -> Any:
    """``left * right``, refused before it runs when the result would be over budget."""
    size = _sequence_bytes(left, right)
    if size is None:
        size = _sequence_bytes(right, left)
    if size is not None:
        if size > _budget().memory_bytes:
            raise memory_exceeded(_budget(), f"a repeated sequence of {size:,} bytes")
    else:
        lbits, rbits = _int_bits(left), _int_bits(right)
        if lbits is not None and rbits is not None:
            _refuse_int(lbits + rbits)
    return left * right


def guarded_pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    """``base ** exponent`` (and ``pow``), refused when the int result would be huge."""
    if modulo is None and isinstance(base, int) and isinstance(exponent, int) \
            and exponent > 0 and abs(base) > 1:
        _refuse_int(exponent * math.log2(abs(base)))
    if modulo is None:
        return base ** exponent
    return pow(base, exponent, modulo)


def guarded_lshift(left: Any, right: Any) -> Any:
    """``left << right``, refused when the int result would be huge."""
    lbits = _int_bits(left)
    if lbits and isinstance(right, int) and right > 0:
        _refuse_int(lbits + right)
    return left << right


class _LongRange:
    """A range too long to hand to C loops: iterated by a Python generator, so the watchdog
    can stop what consumes it; membership and indexing stay the range's own."""

    __slots__ = ("_range",)

    def __init__(self, inner: range) -> None:
        self._range = inner

    # A plain loop, not ``yield from``: its backward jump is where the interpreter checks for
    # the watchdog's exception (``yield from`` loops with JUMP_BACKWARD_NO_INTERRUPT).
    def __iter__(self) -> Iterator[int]:
        for value in self._range:  # noqa: UP028
            yield value

    def __reversed__(self) -> Iterator[int]:
        for value in reversed(self._range):  # noqa: UP028
            yield value

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __getitem__(self, index: Any) -> Any:
        item = self._range[index]
        return budgeted_range(item.start, item.stop, item.step) if isinstance(item, range) \
            else item

    def __repr__(self) -> str:
        return repr(self._range)


def budgeted_range(*args: Any) -> range | _LongRange:
    """``range``, but one over ``LAZY_RANGE_ITEMS`` items iterates in Python."""
    inner = range(*args)
    try:
        long = len(inner) > LAZY_RANGE_ITEMS
    except OverflowError:  # more items than a C ssize_t
        long = True
    return _LongRange(inner) if long else inner


# ------------------------------------------------ text operations whose size a number sets

#: ``str`` methods whose result length an argument sets (``'a'.ljust(10**10)``): looked up
#: through ``sized_str_method``, which checks the length first.
SIZED_STR_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace",
                               "join"})
_NUMBERS = re.compile(r"\d+")


def _refuse_text(length: int, text: str) -> None:
    size = length * (1 if text.isascii() else 4)
    if size > _budget().memory_bytes:
        raise memory_exceeded(_budget(), f"a text of {length:,} characters")


def _str_result_length(text: str, name: str, args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> int:
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in ("ljust", "rjust", "center", "zfill"):
        return max(len(text), first if isinstance(first, int) else 0)
    if name == "expandtabs":
        tab = first if isinstance(first, int) else 8
        return len(text) * max(tab, 1)
    old = args[0] if args else kwargs.get("old", "")
    new = args[1] if len(args) > 1 else kwargs.get("new", "")
    count = args[2] if len(args) > 2 else kwargs.get("count", -1)
    if not isinstance(old, str) or not isinstance(new, str) or not isinstance(count, int):
        return len(text)
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def sized_str_method(text: str, name: str) -> Callable[..., Any]:
    """``text.<name>`` for the methods of ``SIZED_STR_METHODS``, refusing a result over the
    memory budget before the C code allocates it."""
    method = getattr(text, name)

    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "join":
            items = list(args[0]) if args else []
            _refuse_text(sum(len(i) for i in items if isinstance(i, str))
                         + len(text) * max(len(items) - 1, 0), text)
            return method(items)
        _refuse_text(_str_result_length(text, name, args, kwargs), text)
        return method(*args, **kwargs)

    return checked


def _refuse_numbers(spec: str) -> None:
    """A width or precision in a format spec is a size: refuse one over the budget."""
    for digits in _NUMBERS.findall(spec):
        if len(digits) > 12 or int(digits) > _budget().memory_bytes:
            raise memory_exceeded(_budget(), f"a formatted field {digits} wide")


def guarded_format(value: Any, spec: str) -> str:
    """An f-string field with a format spec (``f'{x:>{w}}'``), its width checked first."""
    _refuse_numbers(str(spec))
    return format(value, spec)


def guarded_mod(left: Any, right: Any) -> Any:
    """``left % right``; for text formatting (``'%*d' % (w, 1)``), widths checked first."""
    if isinstance(left, str | bytes):
        _refuse_numbers(left if isinstance(left, str) else left.decode("latin-1"))
        for value in right if isinstance(right, tuple) else (right,):
            if isinstance(value, int) and not isinstance(value, bool) \
                    and value > _budget().memory_bytes and "*" in str(left):
                raise memory_exceeded(_budget(), f"a formatted field {value} wide")
    return left % right
