"""Instance variables copied out of the workflow so the console can filter on them.

The workflow's data lives inside the compressed state, which no database can query; the
top-level scalar variables (text up to 255 characters, numbers, booleans) are mirrored here
on every save, indexed by ``(name, value)``. Lists and objects (risk points, forms) are not:
filtering on them is not what the console offers.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class InstanceVariable(Base):
    __tablename__ = "instance_variable"
    __table_args__ = (Index("ix_instance_variable_lookup", "name", "value", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The value as text: JSON's spelling for numbers and booleans (``true``, ``2011``).
    value: Mapped[str] = mapped_column(String(255))
