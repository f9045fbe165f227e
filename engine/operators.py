"""Service-task operators: named domain actions a BPMN service task may call.

A service task (``<spiffworkflow:serviceTaskOperator id="register.archive">``) runs inside
the engine's transaction. Its operator gets the unit of work, the instance and the task's
evaluated parameters, so domain code (the risk register, the organisation) can read and
write in the same commit as the workflow step — archive the register when the process says
so, never half of it. Operators are registered on the ``Runtime`` by name; the engine binds
the current transaction around every engine run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .db import UnitOfWork


@dataclass(frozen=True)
class OperatorCall:
    uow: UnitOfWork
    instance_id: int
    process_id: str
    business_key: str | None
    element_id: str
    data: dict[str, Any]
    params: dict[str, Any]
    now: datetime
    #: Who made the process take this step: the user who completed the task, sent the
    #: message or started the instance in this transaction; None for a timer or a caller
    #: running on. Domain writes record it (the risk register's history names people).
    actor: str | None = None


Operator = Callable[[OperatorCall], Any]


@dataclass(frozen=True)
class _Binding:
    operators: dict[str, Operator]
    uow: UnitOfWork
    instance_id: int
    process_id: str
    business_key: str | None
    now: datetime
    actor: str | None


_current: ContextVar[_Binding | None] = ContextVar("irpm_operators", default=None)


@contextmanager
def bind_operators(operators: dict[str, Operator], uow: UnitOfWork, *, instance_id: int,
                   process_id: str, business_key: str | None, now: datetime,
                   actor: str | None = None) -> Iterator[None]:
    token = _current.set(_Binding(operators, uow, instance_id, process_id, business_key, now,
                                  actor))
    try:
        yield
    finally:
        _current.reset(token)


class UnknownOperator(LookupError):
    pass


def dispatch(task: Any, operation_name: str, operation_params: dict[str, Any]) -> Any:
    """Called by the script engine for a service task; returns the operator's result."""
    binding = _current.get()
    if binding is None:
        raise RuntimeError("service tasks run only inside the engine's transaction")
    operator = binding.operators.get(operation_name)
    if operator is None:
        known = ", ".join(sorted(binding.operators)) or "none"
        raise UnknownOperator(f"no service operator '{operation_name}' (known: {known})")
    params = {name: p.get("value") if isinstance(p, dict) else p
              for name, p in (operation_params or {}).items()}
    return operator(OperatorCall(
        binding.uow, binding.instance_id, binding.process_id, binding.business_key,
        task.task_spec.name, dict(task.data), params, binding.now, binding.actor))
