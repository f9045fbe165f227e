"""Who may take a human task, and when it is due.

The default rule reads the task's BPMN: ``candidateUsers`` / ``candidateGroups`` properties
(comma-separated codes, or ``=expression`` evaluated in the sandbox against task data), else
the task's lane id as the one candidate group. The organisation module replaces this with
a resolver that turns lanes into the concrete leaders of the instance's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .errors import DeploymentError

if TYPE_CHECKING:
    from .db import UnitOfWork


@dataclass(frozen=True)
class Candidates:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskContext:
    """What a resolver may look at: the element's catalog entry, task data, the instance."""

    element: dict[str, Any]
    data: dict[str, Any]
    process_id: str
    business_key: str | None


class CandidateResolver(Protocol):
    def __call__(self, ctx: TaskContext, evaluate: Any) -> Candidates: ...


class Escalation(Protocol):
    """Where a task goes when separation of duties (回避, ``engine.separation``) has taken
    every one of its candidates out: given the task and the candidates it emptied, the
    candidates one level up, or None when there is nobody above (the task then goes to the
    administrators). Called again with what it returned while that is empty too."""

    def __call__(self, uow: UnitOfWork, ctx: TaskContext,
                 emptied: Candidates) -> Candidates | None: ...


def no_escalation(uow: UnitOfWork, ctx: TaskContext, emptied: Candidates) -> None:
    """The runtime on its own knows no hierarchy: an emptied task goes to administrators."""
    return None


def split_items(value: Any, what: str) -> list[Any]:
    """A comma-separated text or a list of items (what task properties and expressions give)
    as a list; ``ValueError`` names ``what`` when it is neither."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    raise ValueError(f"{what} must be text or a list, not {type(value).__name__}")


def _codes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = split_items(value, "candidates")
    return tuple(sorted({str(item).strip() for item in items if str(item).strip()}))


def _property(ctx: TaskContext, key: str, evaluate: Any) -> tuple[str, ...] | None:
    raw = ctx.element.get("properties", {}).get(key)
    if raw is None:
        return None
    raw = raw.strip()
    return _codes(evaluate(raw[1:]) if raw.startswith("=") else raw)


def default_resolver(ctx: TaskContext, evaluate: Any) -> Candidates:
    users = _property(ctx, "candidateUsers", evaluate)
    groups = _property(ctx, "candidateGroups", evaluate)
    if users is None and groups is None:
        lane = ctx.element.get("lane")
        return Candidates((), (lane,) if lane else ())
    return Candidates(users or (), groups or ())


def due_date(element: dict[str, Any], now: datetime,
             evaluate: Any = None) -> datetime | None:
    """``dueIn`` — an ISO 8601 duration such as P10D or P1M, or ``=expression`` giving one
    from task data (e.g. ``=correction_deadline``) — counted from ``now``."""
    raw = element.get("properties", {}).get("dueIn")
    if not raw:
        return None
    raw = raw.strip()
    if raw.startswith("="):
        if evaluate is None:
            raise ValueError("dueIn is an expression but nothing can evaluate it here")
        raw = str(evaluate(raw[1:]))
    try:
        parsed = TimerEventDefinition.parse_iso_duration(raw.strip())
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, now)
    except Exception as exc:
        raise DeploymentError(f"dueIn '{raw}' is not an ISO 8601 duration: {exc}",
                              element=element.get("name")) from None
    return now + delta
