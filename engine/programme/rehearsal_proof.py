"""What a rehearsal proves, read back from the database it ran on: that nobody supervised
their own post (回避), and where its 后期处置 came from.

- **Self-supervision.** A step about a post (the task names it: ``post_code``) that is not
  the post holder's own (its lane is not ``post_holder``: 自己找, 定期自查, 纠正问题, 纠错整改
  are) judges that post — 互相查, 领导点, 组织评, review, 审核群众意见, prevention, 廉政谈话,
  monitoring, assessment, and every disposal step but the holder's corrections. Done by the
  post's holder, it is a supervisory step on one's own post: "nobody may check, review or
  supervise their own post" (issue 11). The count is derived from the models' lanes, not
  from a list of steps, so a new judging step is counted without an edit here (the tests
  keep a list of their own as an independent check).
- **Disposals by source.** Every ``disposal`` instance is keyed
  ``disposal:<post>:<source>:<n>`` (``services.disposals.business_key``): counted per source,
  with how many ended in accountability (追究).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select

from ..db import UnitOfWork
from ..models import HumanTask, ProcessInstance, TaskState
from .models import Account, Post
from .services.disposals import SOURCES
from .services.register_disposal import PROCESS as DISPOSAL

#: The lane of the post holder's own steps (bpmn/post_cycle.bpmn, bpmn/disposal.bpmn).
HOLDER_LANE = "post_holder"
ACCOUNTABILITY = "accountability"


@dataclass(frozen=True)
class Separation:
    """Supervisory steps completed, and how many of them by the holder of their post."""

    supervisory_steps: int
    self_supervised: int


def _supervisory() -> ColumnElement[bool]:
    return and_(HumanTask.state == TaskState.COMPLETED, HumanTask.post_code.is_not(None),
                or_(HumanTask.lane.is_(None), HumanTask.lane != HOLDER_LANE))


def separation(uow: UnitOfWork) -> Separation:
    """Count the completed supervisory steps and those done by their post's holder."""
    total = uow.session.scalar(select(func.count()).select_from(HumanTask)
                               .where(_supervisory())) or 0
    own = uow.session.scalar(
        select(func.count()).select_from(HumanTask)
        .join(Post, Post.code == HumanTask.post_code)
        .join(Account, Account.official_id == Post.holder_id)
        .where(_supervisory(), HumanTask.completed_by == Account.username)) or 0
    return Separation(total, own)


def disposals_by_source(uow: UnitOfWork) -> dict[str, int]:
    """How many disposals were started from each source (every source listed, 0 too)."""
    counts = dict.fromkeys(SOURCES, 0)
    for key in uow.session.scalars(select(ProcessInstance.business_key).where(
            ProcessInstance.process_id == DISPOSAL)):
        parts = (key or "").rsplit(":", 2)
        if len(parts) == 3:
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    return counts


def accountability(uow: UnitOfWork) -> int:
    """How many disposals ended in accountability (追究: the commission's step done)."""
    return uow.session.scalar(
        select(func.count()).select_from(HumanTask)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(ProcessInstance.process_id == DISPOSAL, HumanTask.element_id == ACCOUNTABILITY,
               HumanTask.state == TaskState.COMPLETED)) or 0
