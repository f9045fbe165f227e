"""The heatmap of one process version: per BPMN element, how many instances wait there now
and how many have passed it, and where instances failed.

Counted from the mirrors, never from workflows: open and completed rows of ``task`` (human
steps, indexed by definition, state and element), waiting rows of ``timer`` (timers), the
``timer_fired`` events of the version's instances (timers passed), and the instances in error
with their failing element. Service and script tasks leave no row of their own, so they show
no count — the diagram marks only what the engine mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..errors import NotFound
from ..models import (
    EventType,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    PendingTimer,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
)
from .instance_page import element_names

__all__ = ["ElementCounts", "Heatmap", "heatmap_of"]


@dataclass
class ElementCounts:
    waiting: int = 0
    passed: int = 0
    failed: int = 0


@dataclass
class Heatmap:
    definition: ProcessDefinition
    elements: dict[str, ElementCounts] = field(default_factory=dict)
    instances: int = 0
    #: Element id → name, from the version's catalog (the page lists elements by name).
    names: dict[str, str] = field(default_factory=dict)

    def at(self, element_id: str) -> ElementCounts:
        return self.elements.setdefault(element_id, ElementCounts())

    def rows(self) -> list[tuple[str, str, ElementCounts]]:
        """(id, name, counts) per counted element in the model's order (the catalog's,
        which follows the BPMN file), unnamed elements last by id: the order a
        reader meets the steps, where sorting Chinese names by code point would be noise."""
        order = {element: n for n, element in enumerate(self.names)}
        return [(e, self.names.get(e, e), self.elements[e])
                for e in sorted(self.elements, key=lambda e: (order.get(e, len(order)), e))]

    @property
    def max_waiting(self) -> int:
        return max((c.waiting for c in self.elements.values()), default=0)

    @property
    def max_passed(self) -> int:
        return max((c.passed for c in self.elements.values()), default=0)


def heatmap_of(uow: UnitOfWork, definition_id: int) -> Heatmap:
    definition = uow.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition {definition_id} does not exist")
    result = Heatmap(definition, names=element_names(definition))
    for element, state, count in uow.session.execute(
            select(HumanTask.element_id, HumanTask.state, func.count())
            .where(HumanTask.definition_id == definition_id,
                   HumanTask.state.in_((TaskState.OPEN, TaskState.COMPLETED)))
            .group_by(HumanTask.element_id, HumanTask.state)):
        counts = result.at(element)
        if state == TaskState.OPEN:
            counts.waiting += count
        else:
            counts.passed += count
    of_version = select(ProcessInstance.id).where(
        ProcessInstance.definition_id == definition_id).scalar_subquery()
    for element, count in uow.session.execute(
            select(PendingTimer.element_id, func.count(func.distinct(PendingTimer.instance_id)))
            .where(PendingTimer.instance_id.in_(of_version))
            .group_by(PendingTimer.element_id)):
        result.at(element).waiting += count
    # From the (type, instance) index: the firings, then their instances' version.
    for fired_at, count in uow.session.execute(
            select(InstanceEvent.element_id, func.count())
            .join(ProcessInstance, ProcessInstance.id == InstanceEvent.instance_id)
            .where(InstanceEvent.type == EventType.TIMER_FIRED.value,
                   ProcessInstance.definition_id == definition_id)
            .group_by(InstanceEvent.element_id)):
        if fired_at:
            result.at(fired_at).passed += count
    for failed_at, count in uow.session.execute(
            select(ProcessInstance.error_element, func.count())
            .where(ProcessInstance.definition_id == definition_id,
                   ProcessInstance.status == InstanceStatus.ERROR)
            .group_by(ProcessInstance.error_element)):
        if failed_at:
            result.at(failed_at).failed += count
    result.instances = uow.session.scalar(
        select(func.count()).where(ProcessInstance.definition_id == definition_id)) or 0
    return result
