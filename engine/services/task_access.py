"""Who may take, work on and see a human task — each rule written once, here.

A rule is needed in two shapes: as a Python predicate over a task already loaded (the task
page, drafts, evidence, the API's visibility check) and as SQL that selects the same tasks
without loading any (the inbox's lists, the inbox actions' one-statement read of a task).
The SQL of a rule sits next to its predicate and says which one it mirrors: change them
together.

* **candidate** — a candidate user, someone in a candidate group, or anyone when the task
  has no candidates (``open_to_all``). Python: ``is_candidate``; SQL: ``candidate_task_ids``
  (lists) and ``candidate_clause`` (one task row).
* **may take** (claim; complete or delegate while unclaimed) — a candidate or an
  administrator: ``may_take``, over a candidacy found either way.
* **may work on** (fill in, keep a draft, attach files, complete, delegate) — the open
  task is theirs, or unclaimed and they may take it; always an administrator:
  ``may_work_on`` (a loaded task), ``may_work`` (a row read with ``candidate_clause``),
  ``require_workable`` (the refusals).
* **may view** — what they are a candidate for, their own (assigned, completed), what
  their leadership covers; administrators and the city's discipline commission see every
  task: ``may_view``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, and_, bindparam, exists, or_, select, true

from ..actors import Actor
from ..errors import Conflict, Forbidden, TaskAlreadyCompleted
from ..models import HumanTask, TaskCandidate, TaskState

__all__ = ["CITY_OVERSIGHT", "candidate_clause", "candidate_params", "candidate_task_ids",
           "is_candidate", "may_take", "may_view", "may_work", "may_work_on",
           "require_workable"]

# ------------------------------------------------------------------------------ candidate


def is_candidate(task: HumanTask, actor: Actor) -> bool:
    """The actor is named by the task's candidates — their login, or one of their groups —
    or the task has none (anyone may take it). Administrators are not candidates as such
    (``may_take`` adds them)."""
    users, groups = task.candidate_users, task.candidate_groups
    if not users and not groups:
        return True
    return actor.user in users or not actor.groups.isdisjoint(groups)


def _names_actor(user: Any, groups: Any) -> ColumnElement[bool]:
    """Candidate rows naming ``user`` or one of ``groups`` (values or bound parameters)."""
    return or_(and_(TaskCandidate.kind == "user", TaskCandidate.name == user),
               and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(groups)))


def _open_to_all() -> ColumnElement[bool]:
    """A task without candidates (an indexed column, set when the task is created)."""
    return HumanTask.open_to_all == true()


def candidate_task_ids(actor: Actor) -> CompoundSelect[Any]:
    """``is_candidate`` as SQL, for lists: the ids of the open tasks the actor is a candidate
    for, from the candidate index (their login and groups) and the open-to-all index — the
    few tasks of the actor's groups, found without looking at every open task. Candidate
    rows outlive their tasks: callers still check the state."""
    by_name = (_names_actor(actor.user, sorted(actor.groups)) if actor.groups else
               and_(TaskCandidate.kind == "user", TaskCandidate.name == actor.user))
    return select(TaskCandidate.task_id.label("task_id")).where(by_name).union(
        select(HumanTask.id.label("task_id")).where(_open_to_all(),
                                                    HumanTask.state == TaskState.OPEN))


def candidate_clause() -> ColumnElement[bool]:
    """``is_candidate`` as SQL, for one task row: a condition on ``HumanTask`` with the
    bound parameters ``user`` and ``groups`` (``candidate_params``), so a statement can be
    built once and read a task and the actor's candidacy together."""
    return or_(exists().where(TaskCandidate.task_id == HumanTask.id,
                              _names_actor(bindparam("user"),
                                           bindparam("groups", expanding=True))),
               _open_to_all())


def candidate_params(actor: Actor) -> dict[str, Any]:
    """The values ``candidate_clause`` is bound with."""
    return {"user": actor.user, "groups": sorted(actor.groups)}


def may_take(candidate: bool, actor: Actor) -> bool:
    """Claim a task, or complete or delegate it while unclaimed: a candidate (``candidate``:
    ``is_candidate``, or ``candidate_clause`` read with the task) or an administrator."""
    return candidate or actor.is_admin


# ---------------------------------------------------------------------------- work on it


def may_work(assignee: str | None, candidate: bool, actor: Actor) -> bool:
    """``may_work_on`` for an open task known by its assignee and whether the actor is a
    candidate (``is_candidate``, or ``candidate_clause`` read with the task)."""
    if assignee is None:
        return may_take(candidate, actor)
    return assignee == actor.user or actor.is_admin


def may_work_on(task: HumanTask, actor: Actor) -> bool:
    """Whether ``actor`` may fill in (save a draft, attach files) and complete ``task``: it
    is open, and theirs, or unclaimed and they are a candidate (completing claims it), or
    they are an administrator."""
    return task.state == TaskState.OPEN and may_work(task.assignee,
                                                     is_candidate(task, actor), actor)


def require_workable(task: HumanTask, actor: Actor, refusal: str) -> HumanTask:
    """``task`` if ``actor`` may work on it; else why not (``refusal``: the ``Forbidden``
    message)."""
    if task.state == TaskState.COMPLETED:
        raise TaskAlreadyCompleted(f"task {task.id} ({task.name}) was already completed")
    if task.state != TaskState.OPEN:
        raise Conflict(f"task {task.id} ({task.name}) is {task.state}")
    if not may_work_on(task, actor):
        raise Forbidden(refusal)
    return task


# ------------------------------------------------------------------------------- see it

#: Scoped leadership groups and the task column their scope is compared with: a unit's
#: principal and discipline officer oversee the unit, a head and a deputy their department.
_OVERSIGHT = (("principal:", "unit_code"), ("discipline_officer:", "unit_code"),
              ("department_head:", "department_code"), ("deputy_in_charge:", "department_code"))
CITY_OVERSIGHT = "discipline_commission"


def may_view(task: HumanTask, actor: Actor) -> bool:
    """Whether ``actor`` may see ``task``: their own (assigned, completed), one they may
    take, or one in the unit or department their leadership covers; administrators and the
    city's discipline commission see all."""
    if actor.is_admin or CITY_OVERSIGHT in actor.groups:
        return True
    if actor.user in (task.assignee, task.completed_by):
        return True
    if is_candidate(task, actor):
        return True
    for prefix, column in _OVERSIGHT:
        code = getattr(task, column)
        if code is not None and f"{prefix}{code}" in actor.groups:
            return True
    return False
