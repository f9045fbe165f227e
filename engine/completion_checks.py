"""Completion checks: a domain rule a user task's answer must keep, checked before the task
completes — so a refused answer comes back to the person at the field, with nothing changed,
instead of failing a later service task and stopping the instance.

A user task names its check in the property ``completionCheck`` (the designer edits it like
``dueIn``); the domain registers the check under that name on the runtime
(``Runtime.completion_checks``). ``complete_task`` calls it with the task's data as the
task would complete with it (its data and the form's answer) and the instance's process
version; it raises ``ValidationFailed`` keyed by form field to refuse. The programme's: the
level floor of a change of a post's level (``engine.programme.floor_check``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .db import UnitOfWork
from .errors import InvalidState

__all__ = ["PROPERTY", "CompletionCheck", "CompletionCheckCall", "run_check"]

PROPERTY = "completionCheck"


@dataclass(frozen=True)
class CompletionCheckCall:
    uow: UnitOfWork
    instance_id: int
    process_id: str
    definition_id: int
    element_id: str
    #: The task's data with the form's answer over it: what the task would complete with.
    data: dict[str, Any]
    #: The form's answer alone (checked against the form already).
    answer: dict[str, Any]
    actor: str


CompletionCheck = Callable[[CompletionCheckCall], None]


def run_check(name: str, call: CompletionCheckCall) -> None:
    """Run the check ``name``; an element naming a check the runtime does not know is the
    diagram's error, refused before anything changes."""
    check = call.uow.runtime.completion_checks.get(name)
    if check is None:
        known = ", ".join(sorted(call.uow.runtime.completion_checks)) or "none"
        raise InvalidState(f"task '{call.element_id}' names the completion check '{name}', "
                           f"which is not installed (known: {known})")
    check(call)
