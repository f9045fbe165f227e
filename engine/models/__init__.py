"""SQLAlchemy models, one aggregate per module."""

from .api_token import ApiToken
from .audit import AuditEntry
from .base import Base
from .batch import Batch, BatchItem, BatchStatus, ItemOutcome
from .clock import CLOCK_ROW, ClockState, simulated_now_column
from .definition import ProcessDefinition, SourceFile, definition_source
from .design import DesignDraft
from .draft import TaskDraft
from .evidence import Evidence
from .feedback import Feedback
from .instance import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EventType,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
)
from .mail import MailStatus, OutboxMail
from .milestone import Milestone, MilestonePlan, MilestoneReport
from .notification import Notification, NotificationAddress, NotificationKind
from .org import POST_ATTRIBUTES, Account, AccountRole, Department, Official, Post, Role, Unit
from .rate_limit import RateLimit
from .register import (
    ControlMeasure,
    FoundBy,
    Harm,
    Likelihood,
    MeasureKind,
    MeasureStatus,
    PostGrading,
    RegisterChange,
    RegisterEntity,
    RiskCategory,
    RiskPoint,
    RiskStatus,
)
from .saved_filter import SavedFilter
from .scheduler_job import SCHEDULER_JOBS_TABLE, scheduler_jobs
from .task import HumanTask, TaskCandidate, TaskState
from .timer import PendingTimer
from .variable import InstanceVariable

__all__ = [
    "ACTIVE_STATUSES",
    "CLOCK_ROW",
    "FINAL_STATUSES",
    "POST_ATTRIBUTES",
    "SCHEDULER_JOBS_TABLE",
    "Account",
    "AccountRole",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Batch",
    "BatchItem",
    "BatchStatus",
    "ClockState",
    "ControlMeasure",
    "Department",
    "DesignDraft",
    "EventType",
    "Evidence",
    "Feedback",
    "FoundBy",
    "Harm",
    "HumanTask",
    "InstanceEvent",
    "InstanceStatus",
    "InstanceVariable",
    "ItemOutcome",
    "Likelihood",
    "MailStatus",
    "MeasureKind",
    "MeasureStatus",
    "Milestone",
    "MilestonePlan",
    "MilestoneReport",
    "Notification",
    "NotificationAddress",
    "NotificationKind",
    "Official",
    "OutboxMail",
    "PendingTimer",
    "Post",
    "PostGrading",
    "ProcessDefinition",
    "ProcessInstance",
    "RateLimit",
    "RegisterChange",
    "RegisterEntity",
    "RiskCategory",
    "RiskPoint",
    "RiskStatus",
    "Role",
    "SavedFilter",
    "SourceFile",
    "TaskCandidate",
    "TaskDraft",
    "TaskState",
    "Unit",
    "definition_source",
    "scheduler_jobs",
    "simulated_now_column",
]
