"""Deployed process definitions: one row per (process id, version), sources stored once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UtcDateTime

definition_source = Table(
    "definition_source",
    Base.metadata,
    Column("definition_id", ForeignKey("process_definition.id", ondelete="CASCADE"),
           primary_key=True),
    Column("source_hash", ForeignKey("source_file.content_hash"), primary_key=True),
)


class SourceFile(Base):
    """A .bpmn or .dmn file exactly as deployed, keyed by its content hash (stored once)."""

    __tablename__ = "source_file"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProcessDefinition(Base):
    """A version of an executable process.

    ``content_hash`` covers the process's own file and every file it depends on (DMN tables,
    called processes), so unchanged sources never make a new version (deploying an older
    content again does make a new version: "latest" is what was deployed last). ``spec`` is
    the parsed spec serialized once here, never inside instances.
    """

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[bytes] = mapped_column(LargeBinary)
    #: element id -> {name, type, lane, properties}: lets task rows and forms be built
    #: without deserializing a spec.
    catalog: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deployed_by: Mapped[str | None] = mapped_column(String(255))

    sources: Mapped[list[SourceFile]] = relationship(secondary=definition_source)
