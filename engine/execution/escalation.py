"""Who gets a new task once its exclusions (回避, ``engine.separation``) are applied.

When a task's ``excludes`` take out some of its candidates, the rest take it (the access
rule, ``engine.services.task_access``, leaves the excluded out). When they take out *every*
candidate — the department head's own post is 领导点'd by nobody but the head — the task goes
one level up through the runtime's ``escalation`` hook (the programme's: the source's
responsibility chain, head → deputy in charge → principal → the city's discipline
commission), as often as it takes to reach someone not excluded; if nobody is left, only
administrators may take it — never everyone.

The directory is asked who is in the groups once per step for all the tasks it creates
(``Directory.members``), and only for tasks that exclude someone; an escalation asks again
for the few groups it adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..assignment import Candidates, TaskContext
from ..db import UnitOfWork
from ..separation import Excluded

__all__ = ["MAX_LEVELS", "Assigned", "assign"]

#: How many levels a task may go up before it goes to administrators.
MAX_LEVELS = 6


@dataclass(frozen=True)
class Assigned:
    """A task's candidates after 回避: ``escalated`` lists each step up (``from`` / ``to``
    candidates); ``administrators`` when nobody was left."""

    candidates: Candidates
    excluded: Excluded | None = None
    #: The logins the exclusions name (their users and the members of their groups), now.
    excluded_logins: frozenset[str] = frozenset()
    escalated: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    administrators: bool = False

    def event_data(self) -> dict[str, Any]:
        """What the ``task_created`` event adds: who was excluded and why, where it went."""
        data: dict[str, Any] = {}
        if self.excluded:
            data["excluded"] = {"rules": list(self.excluded.rules),
                                "users": list(self.excluded.users),
                                "groups": list(self.excluded.groups),
                                "logins": sorted(self.excluded_logins)}
        if self.escalated:
            data["escalated"] = list(self.escalated)
        if self.administrators:
            data["administrators"] = True
        return data


def _as_dict(candidates: Candidates) -> dict[str, list[str]]:
    return {"users": list(candidates.users), "groups": list(candidates.groups)}


class _Members:
    """Group members, looked up once per group for the step."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.known: dict[str, set[str]] = {}

    def load(self, groups: Iterable[str]) -> None:
        missing = {g for g in groups if g not in self.known}
        if missing:
            found = self.uow.runtime.directory.members(self.uow, missing)
            self.known.update({g: set(found.get(g, ())) for g in missing})

    def people(self, users: Iterable[str], groups: Iterable[str]) -> set[str]:
        groups = list(groups)
        self.load(groups)
        found = set(users)
        for group in groups:
            found |= self.known[group]
        return found


def assign(uow: UnitOfWork,
           pending: list[tuple[TaskContext, Candidates, Excluded | None]]) -> list[Assigned]:
    """Each task's ``Assigned``, in the order of ``pending`` (context, the resolver's
    candidates, the exclusions)."""
    members = _Members(uow)
    members.load(g for _ctx, found, excluded in pending if excluded
                 for g in (*found.groups, *excluded.groups))
    return [_assign(uow, members, ctx, found, excluded) if excluded else Assigned(found)
            for ctx, found, excluded in pending]


def _assign(uow: UnitOfWork, members: _Members, ctx: TaskContext, found: Candidates,
            excluded: Excluded) -> Assigned:
    logins = frozenset(members.people(excluded.users, excluded.groups))
    people = members.people(found.users, found.groups)
    if not people or people - logins:
        # Someone is left — or nobody was there to begin with (a vacancy is not 回避's).
        return Assigned(found, excluded, logins)
    steps: list[dict[str, Any]] = []
    current, seen = found, {found}
    for _level in range(MAX_LEVELS):
        above = uow.runtime.escalation(uow, ctx, current)
        if above is None or above in seen or not (above.users or above.groups):
            break
        steps.append({"from": _as_dict(current), "to": _as_dict(above)})
        current = above
        seen.add(above)
        if members.people(above.users, above.groups) - logins:
            return Assigned(above, excluded, logins, tuple(steps))
    steps.append({"from": _as_dict(current), "to": "administrators"})
    return Assigned(Candidates(), excluded, logins, tuple(steps), administrators=True)
