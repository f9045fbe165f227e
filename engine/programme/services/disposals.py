"""Starting 后期处置 (the ``disposal`` process, bpmn/disposal.bpmn) for a post, and listing a
post's disposals.

Source: "针对日常监控中发现的漏洞和薄弱环节,完善廉政风险防范措施,把廉政风险和隐患消除在萌芽状态。
对有明显风险表现的个人及时进行提醒和纠错……对群众有投诉、社会有反映、不按照规定落实廉政风险防范措施
的,采取谈话提醒、诫勉纠错等措施".

A disposal starts from one of five sources (``SOURCES``):

- ``self_check`` — a post's quarterly self-check (定期自查) that found problems, and
- ``monitoring`` — the direct manager's monitoring report (中期监控) with findings: both from
  bpmn/post_cycle.bpmn through the service task operator ``disposal.start``;
- ``complaint`` — public feedback the unit's discipline officer upholds as a complaint about
  the post holder (the post cycle's 审核群众意见, or pending feedback by hand:
  ``feedback.uphold_complaint``);
- ``channel`` — a finding that came through one of the four special channels (专用监督渠道:
  举报投诉, 财务审计, 执法检查, 问卷调查 — ``CHANNELS``), e.g. a questionnaire whose results
  show problems: ``start_from_channel``, by the unit's discipline officer or the city's
  discipline commission; the channel is the finding's ``found_by`` and says why, so no
  separate reason is asked for;
- ``register`` — by hand from the post's register (``start_by_hand``), with a written reason,
  by the unit's discipline officer or the city's discipline commission;
- ``institution`` — a finding of a 中期监控 institution (bpmn/institutions.bpmn, through
  ``register_institutions.record``): 组织评 ``organization_reviewed`` in the register.

Each is an instance of its own (business key ``disposal:<post>:<source>:<n>``), started in
the caller's transaction, so the post's cycle goes on while a disposal runs for months. Its
start data carries the post, its department and unit, the year, the finding and the post's
level and the roles answering for it (``register_disposal.post_standing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import Forbidden, ValidationFailed
from ...models import ProcessInstance
from ...services import clock, instances
from ..models import FoundBy, Harm, Likelihood, Post, PostGrading, RiskCategory
from ..registerschema import FIRST_YEAR, LAST_YEAR, Text, flatten
from .organisation import get_post
from .register_disposal import CHINA, PROCESS, post_standing

SOURCES = ("self_check", "monitoring", "complaint", "channel", "register", "institution")
#: "利用举报投诉、财务审计、执法检查、问卷调查等专用监督渠道和手段": the channels a ``channel``
#: finding names as its ``found_by`` (no default: the starter says which one).
CHANNELS = (FoundBy.COMPLAINT.value, FoundBy.FINANCIAL_AUDIT.value,
            FoundBy.ENFORCEMENT_INSPECTION.value, FoundBy.QUESTIONNAIRE.value)
#: The register's channel (``FoundBy``) of each source: a self-check is 自己找, a leader's
#: monitoring 领导点, an upheld public complaint 群众提; by hand, 举报投诉 unless named.
FOUND_BY = {"self_check": FoundBy.SELF_IDENTIFIED.value,
            "monitoring": FoundBy.LEADER_POINTED.value,
            "complaint": FoundBy.PUBLIC_SUGGESTED.value,
            "register": FoundBy.COMPLAINT.value,
            "institution": FoundBy.ORGANIZATION_REVIEWED.value}
#: Who may start one by hand: the unit's discipline officer (a scoped group), or the city's
#: discipline commission (the plain role).
COMMISSION = "discipline_commission"
MAX_TEXT = 2000


def _one_of(values: Any) -> Any:
    return validate.OneOf([v.value for v in values])


class FindingInput(Schema):
    """A finding as a disposal starts with it."""

    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    description = Text(required=True, validate=validate.Length(max=MAX_TEXT))
    found_by = fields.String(validate=_one_of(FoundBy))
    category = fields.String(validate=_one_of(RiskCategory))
    likelihood = fields.String(validate=_one_of(Likelihood))
    harm = fields.String(validate=_one_of(Harm))
    #: Why it was started by hand (required for ``register``).
    reason = Text(validate=validate.Length(max=MAX_TEXT))

    @validates_schema
    def _reason_by_hand(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("source") == "register" and not data.get("reason"):
            raise ValidationError({"reason": ["a disposal started by hand needs a written "
                                              "reason (启动理由)"]})

    @validates_schema
    def _channel_named(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("source") == "channel" and data.get("found_by") not in CHANNELS:
            raise ValidationError({"found_by": [
                f"a finding from a channel names its channel: one of {', '.join(CHANNELS)} "
                "(举报投诉、财务审计、执法检查、问卷调查)"]})


def _finding(finding: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = FindingInput().load(
            {k: v for k, v in finding.items() if v not in (None, "")})
    except ValidationError as exc:
        errors = flatten(exc.normalized_messages())
        detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in errors.items())
        raise ValidationFailed(f"invalid disposal finding: {detail}", errors) from exc
    if "found_by" not in loaded:  # a channel's is checked above, so every other has one
        loaded["found_by"] = FOUND_BY[loaded["source"]]
    return loaded


def _year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not \
            FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"a disposal needs the campaign year, not {year!r}",
                               {"year": ["a year"]})
    return year


def start_data(uow: UnitOfWork, post_code: str, year: int,
               finding: Mapping[str, Any]) -> dict[str, Any]:
    """What a disposal of ``post_code`` starts with (the finding checked first)."""
    clean, year = _finding(finding), _year(year)
    post = get_post(uow, post_code)
    department = post.department
    return {"post_code": post.code, "post_name": post.name,
            "department_code": department.code, "unit_code": department.unit.code,
            "year": year, "official": post.holder.name if post.holder else None,
            "finding": clean, **post_standing(uow, post, year).as_data()}


def business_key(uow: UnitOfWork, post_code: str, source: str) -> str:
    """``disposal:<post>:<source>:<n>``, ``n`` counting the post's disposals from that source."""
    prefix = f"{PROCESS}:{post_code}:{source}:"
    count = uow.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_id == PROCESS,
        ProcessInstance.business_key.startswith(prefix, autoescape=True)))
    return f"{prefix}{int(count or 0) + 1}"


def begin(uow: UnitOfWork, post_code: str, year: int, finding: Mapping[str, Any],
          actor: Actor | None, *, now: datetime | None = None) -> ProcessInstance:
    """Start a disposal in the caller's transaction (no commit); ``now``: the caller's step
    time. Bad input raises before anything is written."""
    data = start_data(uow, post_code, year, finding)
    key = business_key(uow, data["post_code"], data["finding"]["source"])
    return instances.begin_instance(uow, PROCESS, key, data, actor=actor, now=now)


def may_start_by_hand(actor: Actor, unit_code: str) -> bool:
    """The unit's discipline officer (纪检监察员) or the city's discipline commission (市纪委)."""
    return COMMISSION in actor.groups or f"discipline_officer:{unit_code}" in actor.groups


def start_by_hand(uow: UnitOfWork, actor: Actor, post_code: str, description: str | None,
                  reason: str | None, *, year: int | None = None,
                  found_by: str | None = None, category: str | None = None,
                  likelihood: str | None = None, harm: str | None = None,
                  source: str = "register") -> ProcessInstance:
    """Start a disposal of the post from its register: the finding (``description``), why by
    hand (``reason``, required), the year (default: the post's latest graded year, else the
    clock's). Only ``may_start_by_hand``: anyone else gets ``Forbidden``, with nothing
    changed. Commits."""
    finding = {"source": source, "description": description, "reason": reason,
               "found_by": found_by, "category": category, "likelihood": likelihood,
               "harm": harm}
    return _start_as_officer(uow, actor, post_code, finding, year)


def start_from_channel(uow: UnitOfWork, actor: Actor, post_code: str, channel: str | None,
                       description: str | None, *, year: int | None = None,
                       reason: str | None = None, category: str | None = None,
                       likelihood: str | None = None,
                       harm: str | None = None) -> ProcessInstance:
    """Start a disposal of the post from a finding that came through a special channel
    (``channel``: one of ``CHANNELS`` — a report or complaint 举报投诉, a financial audit
    财务审计, an enforcement inspection 执法检查, a questionnaire 问卷调查 whose results show
    problems): the source asks for these channels beside the five methods, and a channel's
    finding needs disposing like a monitoring finding. The channel is recorded as the
    register's ``found_by``; ``reason`` is optional (the channel says why). Routed like
    every disposal by the post's level (``responsibility.dmn``). Only
    ``may_start_by_hand``; bad input raises ``ValidationFailed`` naming the field, nothing
    changed. Commits."""
    finding = {"source": "channel", "description": description, "reason": reason,
               "found_by": channel, "category": category, "likelihood": likelihood,
               "harm": harm}
    return _start_as_officer(uow, actor, post_code, finding, year)


def _start_as_officer(uow: UnitOfWork, actor: Actor, post_code: str,
                      finding: dict[str, Any], year: int | None) -> ProcessInstance:
    """The one path of a disposal a person starts: authorised first, then begun, committed."""
    post = get_post(uow, post_code)
    unit = post.department.unit.code
    if not may_start_by_hand(actor, unit):
        raise Forbidden(f"{actor.user} may not start a disposal of post {post.code}: only "
                        f"the discipline officer of unit {unit} (纪检监察员) or the city's "
                        "discipline commission (市纪委) may start one by hand")
    instance = begin(uow, post.code, year if year is not None else default_year(uow, post),
                     finding, actor)
    uow.commit()
    return instance


def default_year(uow: UnitOfWork, post: Post) -> int:
    """The post's latest graded year, else the clock's (in China)."""
    graded = uow.session.scalar(select(func.max(PostGrading.year)).where(
        PostGrading.post_id == post.id))
    return int(graded) if graded is not None else clock.now(uow).astimezone(CHINA).year


@dataclass(frozen=True)
class DisposalRow:
    instance_id: int
    business_key: str | None
    status: str
    started_at: datetime
    started_by: str | None
    completed_at: datetime | None


def post_disposals(uow: UnitOfWork, post_code: str) -> list[DisposalRow]:
    """The post's disposals, newest first."""
    post = get_post(uow, post_code)
    rows = uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == PROCESS,
        ProcessInstance.business_key.startswith(f"{PROCESS}:{post.code}:", autoescape=True))
        .order_by(ProcessInstance.id.desc()))
    return [DisposalRow(r.id, r.business_key, r.status, r.started_at, r.started_by,
                        r.completed_at) for r in rows]
