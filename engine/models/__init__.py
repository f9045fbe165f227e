"""SQLAlchemy models, one aggregate per module."""

from .base import Base
from .clock import ClockState
from .definition import ProcessDefinition, SourceFile, definition_source
from .instance import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EventType,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
)
from .task import HumanTask, TaskCandidate, TaskState
from .timer import PendingTimer

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "Base",
    "ClockState",
    "EventType",
    "HumanTask",
    "InstanceEvent",
    "InstanceStatus",
    "PendingTimer",
    "ProcessDefinition",
    "ProcessInstance",
    "SourceFile",
    "TaskCandidate",
    "TaskState",
    "definition_source",
]
