"""Design drafts: a .bpmn or .dmn file a designer saved in the editor without deploying it.

One draft per file name (the name is what ties a file to its deployed versions), shared by
every designer: whoever saves last owns it, and the list says who and when. Deploying the
file removes its draft, so a draft always means "changes not deployed yet".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class DesignDraft(Base):
    __tablename__ = "design_draft"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    #: The executable process the file defines (BPMN), for the definitions list.
    process_id: Mapped[str | None] = mapped_column(String(255), index=True)
    content: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(255))
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)
