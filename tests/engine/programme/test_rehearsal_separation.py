"""Separation of duties (回避) in the rehearsal: two years of the programme on a town whose
leaders hold posts (tests/engine/programme/leaders_town.py), every task completed by a person it was
routed to — and not one supervisory step done by the holder of the post it is about.

Issue 11: "nobody may check, review or supervise their own post — this is an integrity
system". Before, the demo city's three-unit rehearsal had 18 of 144 互相查 done by the holder,
18 领导点 by the head on his own post, the 常务副局长 reviewing and monitoring his own post and
the 局长 holding the 廉政谈话 with himself. Now the post holder is excluded and an emptied lane
goes up the source's chain: "对确定为一级廉政风险等级的,在单位分管领导直接管理的基础上,由单位主要
领导负责……" — head → deputy in charge → principal → the city's discipline commission.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from engine.models import HumanTask, InstanceEvent, TaskState
from engine.programme.composition import programme_runtime
from engine.programme.rehearsal import rehearse
from engine.runtime import Runtime
from engine.settings import Settings

from .leaders_town import load_town
from .self_supervision import SUPERVISORY, self_supervised, supervisory_steps


@pytest.fixture
def town(settings: Settings) -> Iterator[Runtime]:
    rt = programme_runtime(settings)
    load_town(rt)
    yield rt
    rt.close()


def test_nobody_supervises_their_own_post_in_the_rehearsal(town: Runtime) -> None:
    result = rehearse(town)
    assert [r.milestone for r in result.reports] == [
        "launch", "rollout", "initial_network", "long_term_mechanism"]

    with town.uow(write=False) as uow:
        assert self_supervised(uow) == []
        steps = supervisory_steps(uow)
        done = {(t.element_id, t.post_code): t.completed_by for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.state == TaskState.COMPLETED,
                                    HumanTask.unit_code == "CZJ"))}
        went_up = [e.data for e in uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.type == "task_created", InstanceEvent.element_id.in_(
                sorted(SUPERVISORY)))) if e.data and e.data.get("escalated")]
        left = list(uow.session.scalars(select(HumanTask.element_id).where(
            HumanTask.state == TaskState.OPEN, HumanTask.unit_code == "CZJ")))
    assert steps > 100

    # 财政局 ran its whole year; each escalated step was done one level up.
    assert left == []
    assert done[("peer_checked", "CZJ-BGS-01")] == "czj-05"  # a colleague, not the head
    assert done[("leader_pointed", "CZJ-BGS-01")] == "czj-02"  # head → deputy
    assert done[("leader_pointed", "CZJ-LDBZ-01")] == "czj-02"  # the principal's, too
    assert done[("review", "CZJ-LDBZ-02")] == "czj-01"  # deputy → principal
    assert done[("monitoring", "CZJ-LDBZ-02")] == "czj-01"
    assert done[("integrity_talk", "CZJ-LDBZ-01")] == "jiwei"  # principal → city commission
    assert done[("prevention", "CZJ-LDBZ-01")] == "jiwei"
    assert done[("organization_reviewed", "CZJ-LDBZ-03")] == "jiwei"  # officer → commission
    assert done[("assessment", "CZJ-LDBZ-03")] == "jiwei"
    # Not escalated: the colleague's post, and the principal's own check of his deputy's.
    assert done[("leader_pointed", "CZJ-BGS-02")] == "czj-04"
    assert done[("integrity_talk", "CZJ-LDBZ-02")] == "czj-01"

    # Each escalation says where it went and why, in the task's history.
    talk = next(d for d in went_up if d["escalated"][0]["from"]["groups"] == ["principal:CZJ"]
                and d["excluded"]["groups"] == ["post:CZJ-LDBZ-01"])
    assert talk["excluded"]["rules"] == ["lane:post_holder"]
    assert talk["excluded"]["logins"] == ["czj-01"]
    assert talk["escalated"] == [{"from": {"users": [], "groups": ["principal:CZJ"]},
                                  "to": {"users": [], "groups": ["discipline_commission"]}}]
    assert talk["groups"] == ["discipline_commission"]
