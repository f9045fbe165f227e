"""The composition root: the one place the integrity programme is plugged into the generic
runtime.

``programme_runtime(settings)`` is the ``Runtime`` web/, the CLI and the scheduler use. The
runtime knows nothing of units, posts or risk points; the programme reaches it only through
the runtime's extension points:

* the candidate resolver — ``routing.org_resolver`` turns a lane (岗位人员, 内设机构领导,
  负责领导 …) into the scoped group of the instance's post, department or unit;
* the service-task operators — ``operators.OPERATORS`` (``org.*``, ``register.*``) and
  ``milestone_operators.OPERATORS`` (``milestones.*``), each run in a savepoint;
* the event listeners — notifications of new and delegated tasks
  (``engine.services.notifications``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from ..operators import Operator, OperatorCall
from ..runtime import Runtime
from ..services import notifications
from ..settings import Settings
from . import milestone_operators
from .operators import OPERATORS
from .routing import org_resolver


def programme_runtime(settings: Settings | None = None, *, db_engine: Engine | None = None,
                      script_globals: dict[str, Any] | None = None) -> Runtime:
    """A ``Runtime`` whose lanes resolve through the organisation, with the operators."""
    return install(Runtime(settings, resolver=org_resolver, db_engine=db_engine,
                           script_globals=script_globals))


def install(rt: Runtime) -> Runtime:
    """Register the programme's operators on an existing runtime, and notify people of
    their new and delegated tasks (``engine.services.notifications``)."""
    for name, operator in {**OPERATORS, **milestone_operators.OPERATORS}.items():
        rt.register_operator(name, _guarded(operator))
    notifications.install(rt)
    return rt


def _guarded(operator: Operator) -> Operator:
    """Run the operator in a savepoint: if it fails, none of its writes stay."""
    def run(call: OperatorCall) -> Any:
        with call.uow.session.begin_nested():
            return operator(call)
    run.__name__ = run.__qualname__ = getattr(operator, "__name__", "operator")
    run.__doc__ = operator.__doc__
    return run
