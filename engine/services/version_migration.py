"""Migrating running instances to a newer version of their process.

An instance's state is SpiffWorkflow's task tree, whose tasks name their BPMN elements; it is
re-read under the new version's spec. That is safe when the new version still has every
element the tree names (done or active), each of the same kind — then the history still
means what it meant, and each active task continues as the same activity. The tokens'
predicted paths are drawn again from the new diagram, so a step added after the current one
is taken. Anything else (a removed or retyped element, a subprocess that changed shape) is
refused with its reason and the instance stays as it was: ``check_migration`` says why
before anything is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..actors import Actor
from ..cache import LoadedDefinition
from ..db import UnitOfWork
from ..errors import NotFound, ValidationFailed
from ..execution.checkout import Live, check_out, load_definition, lock_instance
from ..execution.saving import save
from ..execution.stepping import run_engine
from ..models import (
    FINAL_STATUSES,
    EventType,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
)
from ..serialization import dump_state, load_state
from .admin_rule import require_administrator, require_reason
from .audit import record_admin_action

__all__ = ["MigrationCheck", "MigrationRefused", "check_migration", "migrate_instance",
           "newer_versions"]

ACTIVE = (SpiffState.READY, SpiffState.WAITING, SpiffState.STARTED, SpiffState.ERROR)


class MigrationRefused(ValidationFailed):
    """The instance cannot move to that version; ``problems`` lists every reason."""

    code = "migration_refused"

    def __init__(self, instance_id: int, problems: list[str]) -> None:
        super().__init__(f"instance {instance_id} cannot be migrated: " + "; ".join(problems),
                         {"version": problems})
        self.problems = problems


@dataclass(frozen=True)
class MigrationCheck:
    instance_id: int
    from_version: int
    to_version: int
    problems: list[str]

    @property
    def safe(self) -> bool:
        return not self.problems


def newer_versions(uow: UnitOfWork, instance: ProcessInstance) -> list[tuple[int, int]]:
    """(definition id, version) of the instance's process newer than its own, newest first."""
    current = uow.session.get(ProcessDefinition, instance.definition_id)
    assert current is not None
    return [(i, v) for i, v in uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version)
        .where(ProcessDefinition.process_id == instance.process_id,
               ProcessDefinition.version > current.version)
        .order_by(ProcessDefinition.version.desc()))]


def _target(uow: UnitOfWork, instance: ProcessInstance, version: int) -> LoadedDefinition:
    definition_id = uow.session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == instance.process_id,
        ProcessDefinition.version == version))
    if definition_id is None:
        raise NotFound(f"process '{instance.process_id}' has no version {version}")
    return load_definition(uow, definition_id)


def _kind(spec: object) -> str:
    return type(spec).__name__


def _problems(workflow: BpmnWorkflow, current: LoadedDefinition,
              target: LoadedDefinition) -> list[str]:
    problems: list[str] = []
    if target.version <= current.version:
        problems.append(f"version {target.version} is not newer than the instance's "
                        f"version {current.version}")
    new_spec, new_subs = target.bundle
    scopes = [(workflow, new_spec.task_specs, "")]
    for sub in workflow.subprocesses.values():
        new = new_subs.get(sub.spec.name)
        if new is None:
            problems.append(f"subprocess '{sub.spec.name}' is not in version {target.version}")
            continue
        scopes.append((sub, new.task_specs, f" (in subprocess {sub.spec.name})"))
    for scope, specs, where in scopes:
        for task in scope.tasks.values():
            name = task.task_spec.name
            if task.has_state(SpiffState.PREDICTED_MASK):
                continue  # predictions are redrawn from the new diagram
            new = specs.get(name)
            state = "active" if task.state in ACTIVE else "done"
            if new is None:
                problems.append(f"{state} element '{name}'{where} does not exist in version "
                                f"{target.version}")
            elif _kind(new) != _kind(task.task_spec):
                problems.append(f"{state} element '{name}'{where} is a {_kind(task.task_spec)} "
                                f"but a {_kind(new)} in version {target.version}")
    return sorted(set(problems))


def check_migration(uow: UnitOfWork, instance_id: int, version: int) -> MigrationCheck:
    """Whether the instance can move to ``version`` and, if not, every reason (reads only)."""
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    live = check_out(uow, instance, instance.updated_at)
    try:
        return _check(live, _target(uow, instance, version))
    finally:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)


def _check(live: Live, target: LoadedDefinition) -> MigrationCheck:
    problems = _problems(live.workflow, live.definition, target)
    if live.instance.status in FINAL_STATUSES:
        problems.insert(0, f"the instance is {live.instance.status}")
    return MigrationCheck(live.instance.id, live.definition.version, target.version, problems)


def migrate_instance(uow: UnitOfWork, instance_id: int, actor: Actor, version: int,
                     reason: str | None) -> ProcessInstance:
    """Move the instance to ``version`` if ``check_migration`` finds it safe; else raise
    ``MigrationRefused`` and change nothing."""
    require_administrator(actor, "migrate instances")
    text = require_reason(reason)
    instance, now = lock_instance(uow, instance_id)
    live = check_out(uow, instance, now)
    workflows = uow.runtime.workflows
    try:
        target = _target(uow, instance, version)
        check = _check(live, target)
    except Exception:
        workflows.checkin(instance.id, instance.revision, live.workflow)
        raise
    if not check.safe:
        workflows.checkin(instance.id, instance.revision, live.workflow)
        raise MigrationRefused(instance.id, check.problems)
    record_admin_action(uow, actor, "migrate", f"instance:{instance.id}", text,
                        {"from_version": check.from_version, "to_version": version})
    workflow = load_state(dump_state(live.workflow), target.bundle, uow.runtime.script_engine)
    _redraw_predictions(workflow)
    migrated = Live(instance, target, workflow, now, uow=uow)
    _write_definition(uow, instance, target.id)
    migrated.log(EventType.MIGRATED, actor=actor.user,
                 data={"from_version": check.from_version, "to_version": version,
                       "reason": text})
    if instance.status in (InstanceStatus.RUNNING, InstanceStatus.WAITING):
        run_engine(migrated)
    save(uow, migrated)
    uow.commit()
    return instance


def _redraw_predictions(workflow: BpmnWorkflow) -> None:
    """Drop what the old diagram predicted below each active task and predict again."""
    scopes = [workflow, *workflow.subprocesses.values()]
    for scope in scopes:
        for task in list(scope.tasks.values()):
            if task.state in ACTIVE and task.id in scope.tasks:
                task._drop_children()
                task.task_spec._predict(task, mask=task.state | SpiffState.PREDICTED_MASK
                                        | SpiffState.FUTURE)


def _write_definition(uow: UnitOfWork, instance: ProcessInstance, definition_id: int) -> None:
    """Point the instance and its open tasks at the new version. ``definition_id`` is not
    among the columns ``write_instance`` writes; it changes here, under the lock this
    transaction holds (the revision check follows in ``save``)."""
    uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                        .values(definition_id=definition_id)
                        .execution_options(synchronize_session=False))
    uow.session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id,
                                                HumanTask.state == TaskState.OPEN)
                        .values(definition_id=definition_id)
                        .execution_options(synchronize_session=False))
    set_committed_value(instance, "definition_id", definition_id)
