"""What happens in the rehearsal besides people answering their tasks: a citizen writes on
the publicity page, and a discipline officer starts a 后期处置 by hand from the register.

Both go through the services the web app uses, so the rehearsal shows the real paths:

- ``FEEDBACK``: while a post's level is in publicity (公示, ``feedback.posts_in_publicity``
  — the posts the public page offers), a citizen sends feedback on it through
  ``feedback.submit_feedback``, as the page does ("进行公示……接受群众监督"). The post's cycle
  takes it and gives the unit's discipline officer 审核群众意见, whose answer
  (``rehearsal_answers``) upholds it as a complaint: a disposal starts.
- ``BY_HAND``: on its day the unit's discipline officer starts a disposal of a post from
  its register with a written reason (``disposals.start_by_hand``, as
  ``POST /api/v1/posts/<post>/disposals`` does); or, for a finding of a special channel
  (a questionnaire whose results show problems), from that channel
  (``disposals.start_from_channel``, as ``POST /api/v1/posts/<post>/channel-disposals``
  does) — "利用举报投诉、财务审计、执法检查、问卷调查等专用监督渠道和手段".

Each happens once, and only when its post's unit is rehearsed (the demo city's 财政局; the
small towns of the tests have none of these posts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ..actors import Actor
from ..db import UnitOfWork
from ..runtime import Runtime
from .models import Post
from .rehearsal_answers import COMPLAINED_OF
from .services import disposals, feedback

CHINA = timezone(timedelta(hours=8), "+08:00")


@dataclass(frozen=True)
class PublicFeedback:
    """A citizen's feedback on ``post`` while its level is in publicity."""

    post: str
    text: str
    contact: str | None = None

    @property
    def unit(self) -> str:
        return self.post.split("-", 1)[0]


@dataclass(frozen=True)
class ByHand:
    """The unit's discipline officer starts a disposal of ``post`` on ``day``: from the
    register with ``reason``, or from ``channel`` (a ``disposals.CHANNELS`` value)."""

    post: str
    description: str
    reason: str
    day: datetime
    channel: str | None = None

    @property
    def unit(self) -> str:
        return self.post.split("-", 1)[0]


FEEDBACK = (PublicFeedback(COMPLAINED_OF, "政务公开窗口办事拖拉,暗示要“意思意思”才给办",
                           "13900000000"),)
#: 财政局's 科员(会计档案管理) (level 3): the audit hands over a lead in September 2011.
BY_HAND = (ByHand("CZJ-GKK-08", "CZJ-GKK-08:会计档案借阅未登记,部分记账凭证缺失",
                  "财政审计移交问题线索", datetime(2011, 9, 1, 9, 0, tzinfo=CHINA)),
           #: 政府采购管理科's 科员: the bureau's questionnaire of suppliers (问卷调查) in
           #: October 2011 shows problems.
           ByHand("CZJ-ZFCGGLK-05", "CZJ-ZFCGGLK-05:供应商问卷反映评审环节存在打招呼现象",
                  "供应商问卷调查", datetime(2011, 10, 10, 9, 0, tzinfo=CHINA),
                  channel="questionnaire"))

#: The actor of a group's first member (the rehearsal's people).
Officer = Callable[[UnitOfWork, str], Actor | None]


@dataclass
class Events:
    """The happenings of one rehearsal (those whose post is rehearsed) and which are done."""

    feedback: list[PublicFeedback]
    by_hand: list[ByHand]
    year: int
    done: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, uow: UnitOfWork, units: Sequence[str], year: int) -> Events:
        """The happenings of the posts that exist in ``units``."""
        posts = {e.post for e in (*FEEDBACK, *BY_HAND) if e.unit in units}
        known = set(uow.session.scalars(select(Post.code).where(Post.code.in_(sorted(posts)))))
        return cls([e for e in FEEDBACK if e.post in known],
                   [e for e in BY_HAND if e.post in known], year)

    def happen(self, rt: Runtime, at: datetime, officer: Officer) -> list[str]:
        """Do what is due at ``at``; returns what was done (one line each)."""
        said: list[str] = []
        for sent in self.feedback:
            key = f"{sent.post}:feedback"
            if key not in self.done:
                with rt.uow() as uow:
                    if sent.post not in feedback.posts_in_publicity(uow, sent.unit):
                        continue
                    receipt = feedback.submit_feedback(uow, sent.post, sent.text, sent.contact,
                                                       year=self.year)
                self.done.append(key)
                said.append(f"public feedback on {sent.post} (feedback {receipt.feedback_id}, "
                            + ("taken by its cycle)" if receipt.delivered else "pending)"))
        for hand in self.by_hand:
            key = f"{hand.post}:{hand.channel or 'register'}"
            if key not in self.done and at >= hand.day:
                with rt.uow() as uow:
                    actor = officer(uow, f"discipline_officer:{hand.unit}")
                    if actor is None:
                        continue
                    if hand.channel:
                        started = disposals.start_from_channel(
                            uow, actor, hand.post, hand.channel, hand.description,
                            year=self.year, reason=hand.reason)
                    else:
                        started = disposals.start_by_hand(uow, actor, hand.post,
                                                          hand.description, hand.reason,
                                                          year=self.year)
                self.done.append(key)
                how = f"from {hand.channel}" if hand.channel else "by hand"
                said.append(f"{actor.user} started {started.business_key} {how}")
        return said
