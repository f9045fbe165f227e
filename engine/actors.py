"""Who is acting: the engine's only notion of a user.

The engine does not own user accounts; callers (web sessions, API tokens, the CLI, the
organisation module) build an ``Actor`` with the user's groups, and claim rules are checked
against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    user: str
    groups: frozenset[str] = field(default_factory=frozenset)
    #: Administrators may act on any task (reassign, complete on behalf) — always logged.
    is_admin: bool = False

    @classmethod
    def system(cls) -> Actor:
        return cls(SYSTEM, frozenset(), is_admin=True)

    def may_claim(self, candidate_users: list[str], candidate_groups: list[str]) -> bool:
        """Named by the candidates, or an administrator — who alone may take a task with no
        candidates (``engine.services.task_access``, which the services ask)."""
        if self.is_admin or self.user in candidate_users:
            return True
        return not self.groups.isdisjoint(candidate_groups)
