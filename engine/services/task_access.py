"""Who may take, work on and see a human task — each rule written once, here.

A rule is needed in two shapes: as a Python predicate over a task already loaded (the task
page, drafts, evidence, the API's visibility check) and as SQL that selects the same tasks
without loading any (the inbox's lists, the inbox actions' one-statement read of a task).
The SQL of a rule sits next to its predicate and says which one it mirrors: change them
together.

* **excluded** (回避, ``engine.separation``) — the task's ``excludes`` name the actor's
  login or one of their groups: the holder of the post it checks, who did an earlier step.
  It outweighs every rule below. Python: ``is_excluded``; SQL: ``excluded_clause``, and
  inside the candidate SQL; the refusal: ``exclusion_refusal``.
* **candidate** — a candidate user, someone in a candidate group; for an
  **administrators' task** (``administrators_only``: it has no candidates, because its model
  names none — a user task in no lane with no candidate properties, after lane inheritance
  and the resolver — or because 回避 took every one out) an administrator, and nobody else:
  no task is ever open to all (issue 12). Never someone excluded. Python: ``is_candidate``;
  SQL: ``candidate_task_ids`` (lists) and ``candidate_clause`` (one task row); why not:
  ``not_candidate_refusal``.
* **may take** (claim; complete or delegate while unclaimed) — a candidate or an
  administrator, not excluded: ``may_take``, over a candidacy found either way.
* **may work on** (fill in, keep a draft, attach files, complete, delegate) — the open
  task is theirs, or unclaimed and they may take it; always an administrator; never someone
  excluded:
  ``may_work_on`` (a loaded task), ``may_work`` (a row read with ``candidate_clause``),
  ``require_workable`` (the refusals).
* **may view** — what they are a candidate for, their own (assigned, completed), what
  their leadership covers; administrators and the city's discipline commission see every
  task: ``may_view``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    exists,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from ..actors import Actor
from ..errors import Conflict, Forbidden, TaskAlreadyCompleted
from ..models import CandidateKind, HumanTask, TaskCandidate, TaskState

__all__ = ["CITY_OVERSIGHT", "candidate_clause", "candidate_params", "candidate_task_ids",
           "excluded_clause", "exclusion_refusal", "is_candidate", "is_excluded", "may_take",
           "may_view", "may_work", "may_work_on", "not_candidate_refusal", "require_workable"]

# ------------------------------------------------------------------------------ candidate


def is_excluded(task: HumanTask, actor: Actor) -> bool:
    """回避: the task excludes the actor — their login, or one of their groups (the holder
    of the post it checks, who did an earlier step…; ``engine.separation``). It outweighs
    every other rule, an administrator's included."""
    users, groups = task.excluded_users, task.excluded_groups
    return actor.user in users or not actor.groups.isdisjoint(groups)


def is_candidate(task: HumanTask, actor: Actor) -> bool:
    """The actor is named by the task's candidates — their login, or one of their groups —
    or, for an administrators' task (it has none), is an administrator; and the task does
    not exclude them (``is_excluded``). Administrators are not candidates of other tasks as
    such (``may_take`` adds them)."""
    if is_excluded(task, actor):
        return False
    if task.administrators_only:
        return actor.is_admin
    return actor.user in task.candidate_users or not actor.groups.isdisjoint(
        task.candidate_groups)


def _names_actor(user: Any, groups: Any, *, excluded: bool = False,
                 rows: Any = TaskCandidate) -> ColumnElement[bool]:
    """Candidate rows (``excluded``: exclusion rows) naming ``user`` or one of ``groups``
    (values or bound parameters)."""
    user_kind, group_kind = ((CandidateKind.EXCLUDED_USER, CandidateKind.EXCLUDED_GROUP)
                             if excluded else (CandidateKind.USER, CandidateKind.GROUP))
    by_user = and_(rows.kind == user_kind.value, rows.name == user)
    if isinstance(groups, list) and not groups:
        return by_user
    return or_(by_user, and_(rows.kind == group_kind.value, rows.name.in_(groups)))


def _not_excluded(task_id: Any, user: Any, groups: Any) -> ColumnElement[bool]:
    """No exclusion row of the task ``task_id`` names the actor (``is_excluded``, negated)."""
    rows = aliased(TaskCandidate, name="excluding")
    return ~exists().where(rows.task_id == task_id,
                           _names_actor(user, groups, excluded=True, rows=rows))


def _administrators_only() -> ColumnElement[bool]:
    """An administrators' task: no candidates (an indexed column, set when the task is
    created)."""
    return HumanTask.administrators_only == true()


def candidate_task_ids(actor: Actor) -> Select[Any] | CompoundSelect[Any]:
    """``is_candidate`` as SQL, for lists: the ids of the open tasks the actor is a candidate
    for, from the candidate index (their login and groups) and, for an administrator, the
    administrators'-task index — the few tasks of the actor's groups, found without looking
    at every open task — less those that exclude the actor. Candidate rows outlive their
    tasks: callers still check the state."""
    groups = sorted(actor.groups)
    named = select(TaskCandidate.task_id.label("task_id")).where(
        _names_actor(actor.user, groups),
        _not_excluded(TaskCandidate.task_id, actor.user, groups))
    if not actor.is_admin:
        return named
    return named.union(select(HumanTask.id.label("task_id")).where(
        _administrators_only(), HumanTask.state == TaskState.OPEN,
        _not_excluded(HumanTask.id, actor.user, groups)))


def candidate_clause() -> ColumnElement[bool]:
    """``is_candidate`` as SQL, for one task row: a condition on ``HumanTask`` with the
    bound parameters ``user``, ``groups`` and ``admin`` (``candidate_params``), so a
    statement can be built once and read a task and the actor's candidacy together."""
    user: Any = bindparam("user")
    groups: Any = bindparam("groups", expanding=True)
    admin: Any = bindparam("admin", type_=Boolean)
    return and_(or_(exists().where(TaskCandidate.task_id == HumanTask.id,
                                   _names_actor(user, groups)),
                    and_(_administrators_only(), admin == true())),
                _not_excluded(HumanTask.id, user, groups))


def excluded_clause() -> ColumnElement[bool]:
    """``is_excluded`` as SQL, for one task row, bound like ``candidate_clause``."""
    return ~_not_excluded(HumanTask.id, bindparam("user"),
                          bindparam("groups", expanding=True))


def candidate_params(actor: Actor) -> dict[str, Any]:
    """The values ``candidate_clause`` and ``excluded_clause`` are bound with."""
    return {"user": actor.user, "groups": sorted(actor.groups), "admin": actor.is_admin}


def exclusion_refusal(actor: Actor, task_id: Any, task_name: str,
                      excluded_users: Any, excluded_groups: Any,
                      rule: str | None = None) -> str:
    """Why a task that excludes ``actor`` refuses them (``Forbidden``'s message): which of
    its exclusions names them, and the rule that made it (its ``excludes`` property)."""
    named = sorted(set(excluded_groups) & actor.groups)
    why = (f"{actor.user} is excluded by name" if actor.user in excluded_users
           else f"{actor.user} is in {', '.join(named)}, which it excludes")
    written = f" (excludes=\"{rule}\")" if rule else ""
    return (f"回避 (separation of duties): task {task_id} ({task_name}) may not be done by "
            f"{actor.user}: {why}{written} — nobody checks, reviews or supervises their own "
            "post")


def not_candidate_refusal(actor: Actor, task_id: Any, task_name: str,
                          administrators_only: bool) -> str:
    """Why an unclaimed task refuses someone who is not its candidate (``Forbidden``'s
    message); for an administrators' task, that it is one and why."""
    if administrators_only:
        return (f"task {task_id} ({task_name}) is an administrators' task: it has no lane "
                "and no candidates (or 回避 took them all out), so only an administrator "
                f"may take it, and {actor.user} is not one — give the task a lane or "
                "candidateGroups/candidateUsers in the model, or ask an administrator")
    return f"{actor.user} is not a candidate for task {task_id} ({task_name})"


def may_take(candidate: bool, actor: Actor, excluded: bool = False) -> bool:
    """Claim a task, or complete or delegate it while unclaimed: a candidate (``candidate``:
    ``is_candidate``, or ``candidate_clause`` read with the task) or an administrator — not
    someone the task excludes (``excluded``: ``is_excluded`` / ``excluded_clause``)."""
    return not excluded and (candidate or actor.is_admin)


# ---------------------------------------------------------------------------- work on it


def may_work(assignee: str | None, candidate: bool, actor: Actor,
             excluded: bool = False) -> bool:
    """``may_work_on`` for an open task known by its assignee, whether the actor is a
    candidate (``is_candidate``, or ``candidate_clause`` read with the task) and whether the
    task excludes them (``is_excluded``, ``excluded_clause``: never, whoever holds it)."""
    if excluded:
        return False
    if assignee is None:
        return may_take(candidate, actor)
    return assignee == actor.user or actor.is_admin


def may_work_on(task: HumanTask, actor: Actor) -> bool:
    """Whether ``actor`` may fill in (save a draft, attach files) and complete ``task``: it
    is open, and theirs, or unclaimed and they are a candidate (completing claims it), or
    they are an administrator."""
    return task.state == TaskState.OPEN and may_work(
        task.assignee, is_candidate(task, actor), actor, is_excluded(task, actor))


def require_workable(task: HumanTask, actor: Actor, refusal: str) -> HumanTask:
    """``task`` if ``actor`` may work on it; else why not (``refusal``: the ``Forbidden``
    message)."""
    if task.state == TaskState.COMPLETED:
        raise TaskAlreadyCompleted(f"task {task.id} ({task.name}) was already completed")
    if task.state != TaskState.OPEN:
        raise Conflict(f"task {task.id} ({task.name}) is {task.state}")
    if is_excluded(task, actor):
        raise Forbidden(exclusion_refusal(actor, task.id, task.name, task.excluded_users,
                                          task.excluded_groups))
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
