"""Waiting message (and signal) catches, one row per catch, so that a message or signal
without a target instance finds the instances that may catch it by name without loading
every workflow.

``correlations`` is what SpiffWorkflow's ``MessageEventDefinition.catches`` compares an
event's correlations with: the waiting workflow's ``correlations`` (``{key: {property:
value}}``), or NULL when the catch takes any message of that name (its message has no
correlation properties, or the workflow has no correlation values yet; a signal's always).
The rows are kept in step with the workflow by ``engine.messaging.waits.sync_message_waits``
at every save.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class MessageWait(Base):
    __tablename__ = "message_wait"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    element_id: Mapped[str] = mapped_column(String(255))
    #: ``message`` or ``signal``.
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), index=True)
    correlations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
