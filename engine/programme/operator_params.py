"""Reading a service-task operator's parameters: each helper checks one parameter and, when
it is wrong, fails the step with a message naming the service task and the parameter (the
instance goes to ``error`` with that message; nothing the step wrote stays). Shared by the
programme's operators (``operators``, ``milestone_operators``, ``disposal_operators``).
"""

from __future__ import annotations

from typing import Any

from ..actors import SYSTEM, Actor
from ..errors import ValidationFailed
from ..operators import OperatorCall


def fail(call: OperatorCall, name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"service task '{call.element_id}': parameter '{name}' {problem}",
                            {name: [problem]})


def text(call: OperatorCall, name: str, default: str | None = None) -> str:
    value = call.params.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise fail(call, name, f"must be non-empty text, not {value!r}")
    return value.strip()


def whole_number(call: OperatorCall, name: str, default: int | None = None) -> int:
    value = call.params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(call, name, f"must be a whole number, not {value!r}")
    return value


def items(call: OperatorCall, name: str) -> list[Any]:
    value = call.params.get(name)
    if not isinstance(value, list):
        raise fail(call, name, f"must be a list, not {type(value).__name__}")
    return value


def choice(call: OperatorCall, name: str, choices: tuple[str, ...],
           default: str | None = None) -> str:
    value = text(call, name, default)
    if value not in choices:
        raise fail(call, name, f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def acting(call: OperatorCall) -> Actor:
    """The register's history names who made the process take the step."""
    return Actor(call.actor or SYSTEM)
