"""How the programme's notifications read in e-mail: the runtime words a task's notification
(new, delegated, yellow and red card); the programme adds what only it knows — the post a task
belongs to, public feedback waiting for the unit's discipline officer
(``services.feedback``), and a milestone's cards, which are about a unit, not a task
(``services.milestones``). ``composition.install`` sets ``WORDING`` on the runtime
(``notification_mail.set_wording``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..models import NotificationKind
from ..services import notification_mail

if TYPE_CHECKING:
    from ..services.notifications import Made

#: Pending public feedback (群众提) no process took.
FEEDBACK_SUBJECT = "群众意见待处理:{subject} · Public feedback to handle"
FEEDBACK_LEAD = ("公示期间收到一条群众意见,没有流程在等待受理,请您处理。"
                 "Public feedback arrived that no process was waiting for; please handle it.")

#: A card without a task is a milestone's: about the unit.
MILESTONE_LEADS: dict[str, str] = {
    NotificationKind.YELLOW_CARD: "您单位的工作进度未达到即将到期的工作节点要求(黄牌)。"
                                  "Your unit is not on track for a milestone due soon "
                                  "(yellow card).",
    NotificationKind.RED_CARD: "您单位未按期达到工作节点要求(红牌)。Your unit missed a milestone "
                               "(red card).",
}


def post_lines(made: Made) -> Sequence[str]:
    """The post (岗位) the notification concerns, if any."""
    return [f"  岗位 Post: {made.post_code}"] if made.post_code else []


WORDING = notification_mail.Wording(
    subjects={NotificationKind.FEEDBACK: FEEDBACK_SUBJECT},
    leads={NotificationKind.FEEDBACK: FEEDBACK_LEAD},
    taskless_leads=MILESTONE_LEADS,
    lines=post_lines,
)
