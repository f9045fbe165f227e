"""Domain errors.

Every failure a caller can act on has its own class, so web/ and the CLI can map each to
one HTTP status or exit message in a single place instead of parsing texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class IrpmError(Exception):
    """Base of all errors the engine raises on purpose."""

    code = "irpm_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(IrpmError):
    code = "not_found"


class Forbidden(IrpmError):
    code = "forbidden"


class Conflict(IrpmError):
    """The request lost a race or met a state that no longer allows it."""

    code = "conflict"


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"


class TaskAlreadyCompleted(Conflict):
    code = "task_already_completed"


class TaskAlreadyClaimed(Conflict):
    code = "task_already_claimed"


class InvalidState(Conflict):
    """The instance's lifecycle status forbids the operation (e.g. completing while suspended)."""

    code = "invalid_state"


class StateUnreadable(Conflict):
    """An instance's stored state (or its definition's spec) cannot be loaded: the blob is
    damaged. The instance is put into ``error`` once (``engine.execution.unreadable``); what
    needs its workflow is refused, while terminate and its pages still work."""

    code = "state_unreadable"


class ValidationFailed(IrpmError):
    """Input was rejected before anything changed; ``errors`` maps field paths to messages."""

    code = "validation_failed"

    def __init__(self, message: str, errors: dict[str, object] | None = None) -> None:
        super().__init__(message, errors=errors or {})
        self.errors = errors or {}


class DeploymentError(IrpmError):
    """A BPMN/DMN file could not be deployed; names the file and line so it can be fixed.

    ``problems`` lists the separate faults when there are several of one kind (each failing
    test case of a decision table, ``engine.decision_cases``), each a dict with the fields of
    ``engine.services.design_lint.Problem`` so the designer can show them one by one; the
    message lists them too, for the CLI and logs.
    """

    code = "invalid_definition"

    def __init__(self, message: str, *, filename: str | None = None,
                 line: int | None = None, element: str | None = None,
                 problems: Sequence[Mapping[str, Any]] = ()) -> None:
        where = ", ".join(
            part for part in (
                filename and f"file {filename}",
                line and f"line {line}",
                element and f"element {element}",
            ) if part
        )
        listed = [dict(p) for p in problems]
        super().__init__(f"{message} ({where})" if where else message,
                         filename=filename, line=line, element=element, problems=listed)
        self.filename, self.line, self.element = filename, line, element
        self.problems: list[dict[str, Any]] = listed


class ScriptRejected(IrpmError):
    """A script or expression uses something the sandbox forbids (imports, dunders, files...)."""

    code = "script_rejected"
