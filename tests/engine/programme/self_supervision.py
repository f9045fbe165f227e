"""Counting self-supervision (自己监督自己): completed supervisory steps whose performer holds
the post the step is about — what separation of duties (回避) must keep at zero.

"Nobody may check, review or supervise their own post — this is an integrity system" (issue
11): a 互相查 by the post holder, a 领导点 by the head on the head's own post, a review,
monitoring or 廉政谈话 of one's own post. The task row names the post (``post_code``); the
organisation names its holder. Run as a script on a rehearsed database to print the count:
``python -m tests.engine.programme.self_supervision sqlite:///instance/irpm.db``.
"""

from __future__ import annotations

import sys
from collections import Counter

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import HumanTask, TaskState
from engine.programme.models import Account, Post

#: The steps where someone judges a post (bpmn/post_cycle.bpmn, bpmn/disposal.bpmn) — every
#: user task of those processes but the post holder's own (自己找, 定期自查, 纠正问题, 纠错整改).
SUPERVISORY = frozenset({
    "peer_checked", "leader_pointed", "organization_reviewed", "review", "change_level",
    "suggestion_review", "prevention", "integrity_talk", "lift_talk", "monitoring", "assessment",
    "reminder", "escalate_reminder", "verification", "escalate_verification", "admonishment",
    "escalate_admonishment", "escalate_correction", "escalate_recorrection",
    "reverification", "escalate_reverification", "accountability"})
#: bpmn/institutions.bpmn's step about a post: the responsible leader's 廉政谈话 of a level-2
#: or level-3 post (a multi-instance task: its rows are named so).
INSTITUTION_STEPS = frozenset({"leader_talk [child]"})


def self_supervised(uow: UnitOfWork) -> list[tuple[str, str, str]]:
    """(element, post, login) of every completed supervisory step done by the holder of the
    post it is about."""
    rows = uow.session.execute(
        select(HumanTask.element_id, HumanTask.post_code, HumanTask.completed_by)
        .join(Post, Post.code == HumanTask.post_code)
        .join(Account, Account.official_id == Post.holder_id)
        .where(HumanTask.state == TaskState.COMPLETED,
               HumanTask.element_id.in_(sorted(SUPERVISORY | INSTITUTION_STEPS)),
               HumanTask.completed_by == Account.username)
        .order_by(HumanTask.element_id, HumanTask.post_code))
    return [(e, p, who) for e, p, who in rows]


def supervisory_steps(uow: UnitOfWork) -> int:
    """How many supervisory steps were completed at all."""
    return len(list(uow.session.scalars(select(HumanTask.id).where(
        HumanTask.state == TaskState.COMPLETED,
        HumanTask.element_id.in_(sorted(SUPERVISORY | INSTITUTION_STEPS))))))


def main(database_url: str) -> None:  # pragma: no cover - a measuring script
    from engine.runtime import Runtime
    from engine.settings import Settings

    rt = Runtime(Settings(database_url=database_url))
    with rt.uow(write=False) as uow:
        found = self_supervised(uow)
        total = supervisory_steps(uow)
    rt.close()
    print(f"{len(found)} of {total} supervisory steps done by the holder of the post")
    for element, count in sorted(Counter(e for e, _p, _w in found).items()):
        print(f"  {element}: {count}")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1])
