"""The composition root: the one place the integrity programme is plugged into the generic
runtime.

``programme_runtime(settings)`` is the ``Runtime`` web/, the CLI and the scheduler use. The
runtime knows nothing of units, posts or risk points; the programme reaches it only through
the runtime's extension points:

* the candidate resolver — ``routing.org_resolver`` turns a lane (岗位人员, 内设机构领导,
  负责领导 …) into the scoped group of the instance's post, department or unit — and the
  lane names it knows (what the designer's lint accepts);
* the escalation — ``escalation.org_escalation``: where a task goes when separation of
  duties (回避, a task's ``excludes``) takes out everyone its lane names — one level up the
  responsibility chain, head → deputy in charge → principal → the city's commission;
* the directory — ``directory.OrgDirectory``: logins, their groups, group members
  (``membership``; whom notifications go to) and whom a task may be delegated to, from the
  organisation;
* the task columns — ``task_columns.OrgTaskColumns``: the unit, department and post names
  (and the post's level) task lists show, and post names a task search matches;
* the service-task operators — ``operators.OPERATORS`` (``org.*``, ``register.*``),
  ``milestone_operators.OPERATORS`` (``milestones.*``) and ``disposal_operators.OPERATORS``
  (``disposal.start``, the disposal's ``register.*``) and ``institution_operators.OPERATORS``
  (``org.unit_leaders``, ``institutions.record``: 中期监控制度), each run in a savepoint;
* the completion checks — ``level_floor.check``: a form's change of a post's level stays
  at or above the post rule's level (the floor); ``institution_operators.finding_post``: an
  institution's finding names a post of the unit to dispose of;
* the event writers — notifications of new and delegated tasks, written in the step's own
  transaction (``engine.services.notifications``) — and how notifications read in e-mail
  (``notification_wording``, through ``notification_mail.set_wording``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from ..operators import Operator, OperatorCall
from ..runtime import Runtime
from ..services import notification_mail, notifications
from ..settings import Settings
from . import (
    disposal_operators,
    institution_operators,
    level_floor,
    milestone_operators,
    notification_wording,
)
from .directory import OrgDirectory
from .escalation import org_escalation
from .operators import OPERATORS
from .routing import CITY_ROLES, ROLE_LANES, SCOPES, org_resolver
from .task_columns import OrgTaskColumns


def programme_runtime(settings: Settings | None = None, *, db_engine: Engine | None = None,
                      script_globals: dict[str, Any] | None = None) -> Runtime:
    """A new ``Runtime`` with the programme plugged in (``install``)."""
    return install(Runtime(settings, db_engine=db_engine, script_globals=script_globals))


def install(rt: Runtime) -> Runtime:
    """Plug the programme into ``rt``: lanes resolve through the organisation (and go up its
    responsibility chain when 回避 empties them), the directory is the organisation, task
    lists name its units, departments and posts, the operators are registered (each in a
    savepoint), and people are notified of their new and delegated tasks, in the
    programme's words."""
    rt.resolver = org_resolver
    rt.escalation = org_escalation
    rt.directory = OrgDirectory()
    rt.lane_roles = frozenset({*SCOPES, *ROLE_LANES, *CITY_ROLES})
    rt.task_columns = OrgTaskColumns()
    for name, operator in {**OPERATORS, **milestone_operators.OPERATORS,
                           **disposal_operators.OPERATORS,
                           **institution_operators.OPERATORS}.items():
        rt.register_operator(name, _guarded(operator))
    rt.completion_checks[level_floor.NAME] = level_floor.check
    rt.completion_checks[institution_operators.CHECK] = institution_operators.finding_post
    notifications.install(rt)
    notification_mail.set_wording(rt, notification_wording.WORDING)
    return rt


def _guarded(operator: Operator) -> Operator:
    """Run the operator in a savepoint: if it fails, none of its writes stay."""
    def run(call: OperatorCall) -> Any:
        with call.uow.session.begin_nested():
            return operator(call)
    run.__name__ = run.__qualname__ = getattr(operator, "__name__", "operator")
    run.__doc__ = operator.__doc__
    return run
