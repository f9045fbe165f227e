"""Human tasks mirrored out of workflows so inboxes never deserialize a workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UtcDateTime


class TaskState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CandidateKind(StrEnum):
    """What a ``task_candidate`` row names: a candidate user or group, or one the task
    excludes (回避, ``engine.separation``) — out of the candidates whatever else names them."""

    USER = "user"
    GROUP = "group"
    EXCLUDED_USER = "ex_user"
    EXCLUDED_GROUP = "ex_group"


class HumanTask(Base):
    """A ready user or manual task; ``id`` is SpiffWorkflow's task id."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_state_assignee", "state", "assignee"),
        Index("ix_task_state_due", "state", "due_at"),
        Index("ix_task_state_unit", "state", "unit_code", "due_at"),
        Index("ix_task_completed_by", "completed_by", "completed_at"),
        Index("ix_task_post_code", "post_code"),
        # Partial: only the few administrators' tasks (no candidates) are in it, so a planner
        # that has statistics (ANALYZE) still sees the lookup as the cheap one it is.
        Index("ix_task_open_to_all", "state", sqlite_where=text("open_to_all = 1"),
              postgresql_where=text("open_to_all")),
        # The console's current-step filter and heatmap (migration 0012).
        Index("ix_task_element_state", "element_id", "state", "instance_id"),
        Index("ix_task_definition_state", "definition_id", "state", "element_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(255))
    #: Whose task it is in the organisation, copied from the task data (``unit_code``,
    #: ``department_code``, ``post_code``) when the task is created, so inboxes can show,
    #: filter and authorize by unit without reading the workflow.
    unit_code: Mapped[str | None] = mapped_column(String(64))
    department_code: Mapped[str | None] = mapped_column(String(64))
    post_code: Mapped[str | None] = mapped_column(String(64))
    #: An administrators' task: it has no candidate users or groups — its model named none
    #: (no lane, no candidate properties, nothing from the resolver) or 回避 took every one
    #: out — so only administrators may see and take it; never anyone at all (issue 12).
    #: Kept on the row (set when the task is created) so an administrator's inbox finds such
    #: tasks through an index, not a scan for the absence of candidate rows. The column keeps
    #: its first name, ``open_to_all`` (from when such a task was anyone's): renaming it is a
    #: migration and buys nothing but the name.
    administrators_only: Mapped[bool] = mapped_column(
        "open_to_all", Boolean, default=False, server_default=false())

    candidates: Mapped[list[TaskCandidate]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True)

    def _named(self, kind: CandidateKind) -> list[str]:
        return sorted(c.name for c in self.candidates if c.kind == kind)

    @property
    def candidate_users(self) -> list[str]:
        return self._named(CandidateKind.USER)

    @property
    def candidate_groups(self) -> list[str]:
        return self._named(CandidateKind.GROUP)

    @property
    def excluded_users(self) -> list[str]:
        """Logins that may not take the task (回避), whatever names them."""
        return self._named(CandidateKind.EXCLUDED_USER)

    @property
    def excluded_groups(self) -> list[str]:
        """Groups whose members may not take the task (回避)."""
        return self._named(CandidateKind.EXCLUDED_GROUP)


class TaskCandidate(Base):
    """Who may claim a task: one row per candidate user or group, indexed for inbox queries;
    and who may not (``CandidateKind``: the excluded users and groups)."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_lookup", "kind", "name", "task_id"),
                      Index("ix_task_candidate_task_id", "task_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # CandidateKind
    name: Mapped[str] = mapped_column(String(255))
