"""The checks a script's C-level operations pass before they run (``engine.budgets``' second
half): one ``*``, ``**``, ``pow``, ``<<``, ``range`` or text operation whose size a short text
sets (``[0] * 10**9``, ``9 ** 9 ** 9``, ``'a'.ljust(10**10)``) would run to its end inside C,
out of the watchdog's reach, so its result's size is worked out first and refused over the
memory budget of the evaluation running in this thread (``current_budget``). The sandbox's
policy (``engine.script_policy``) puts these in place of the operators and methods.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from engine.budgets import (
    LAZY_RANGE_ITEMS,
    MAX_INT_BITS,
    BudgetExceeded,
    current_budget,
    memory_exceeded,
)

__all__ = ["SIZED_STR_METHODS", "budgeted_range", "guarded_format", "guarded_lshift",
           "guarded_mod", "guarded_mul", "guarded_pow", "sized_str_method"]

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
        if size > current_budget().memory_bytes:
            raise memory_exceeded(current_budget(), f"a repeated sequence of {size:,} bytes")
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
    if size > current_budget().memory_bytes:
        raise memory_exceeded(current_budget(), f"a text of {length:,} characters")


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
        if len(digits) > 12 or int(digits) > current_budget().memory_bytes:
            raise memory_exceeded(current_budget(), f"a formatted field {digits} wide")


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
                    and value > current_budget().memory_bytes and "*" in str(left):
                raise memory_exceeded(current_budget(), f"a formatted field {value} wide")
    return left % right
