"""Public feedback (群众提) during publicity (公示), and which units are in publicity now.

"要严格审核把关,确定岗位廉政风险等级,并进行公示,明确监管内容,落实监管责任,接受群众监督" — anyone may
comment on a post whose level is published. ``submit_feedback`` is the one way in, for the
public page and the REST API alike:

1. the text (required, at most ``MAX_TEXT`` characters) and the optional contact are checked;
2. the feedback is stored (``feedback``) — with the sender's address only as a keyed hash
   (``hash_address``);
3. it is delivered as the message ``public_suggestion`` ({text, contact?}) to the post's
   waiting cycle (process ``post_cycle``, business key = the post's code), in the same
   transaction: the cycle then gives the unit's discipline officer the task 审核群众意见,
   which may record a risk point and re-grade the post;
4. if no cycle waits for it (publicity is over, or the cycle is elsewhere), it is still kept —
   *pending* — and the unit's discipline officer is notified and finds it in the feedback
   list (``list_feedback``) to deal with by hand: mark it handled
   (``mark_feedback_handled``), take it as an objection to the level (``reopen_review``), or
   uphold it as a complaint about the post holder (``uphold_complaint``: "对群众有投诉……的,
   采取谈话提醒、诫勉纠错等措施" — a 后期处置 starts). Nothing a citizen sends is lost (unless
   the caller asks for a refusal instead: ``keep_undelivered=False``, which the API uses to
   answer 409).

A unit is *in publicity* while a post cycle of one of its posts waits on its publicity timer
(the boundary timer ``publicity_expired`` of the receive task 公示期间接受监督): that is what
``units_in_publicity`` lists, read from the timer table without opening a workflow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from ...actors import Actor
from ...db import UnitOfWork, _is_contention
from ...errors import ConcurrentUpdate, Conflict, Forbidden, IrpmError, NotFound, ValidationFailed
from ...execution.checkout import lock_instance
from ...models import ACTIVE_STATUSES, Notification, NotificationKind, PendingTimer, ProcessInstance
from ...services import clock, notifications
from ...services.messages import find_instance, send_message
from .. import membership
from ..models import Department, Feedback, Post, PostGrading, Unit
from . import disposals
from .organisation import get_post, get_unit

MESSAGE = "public_suggestion"
#: The message the cycle waits for during publicity; it sends grading back to review.
OBJECTION = "publicity_objection"
DEFAULT_PROCESS = "post_cycle"
#: The publicity period's timer in bpmn/post_cycle.bpmn.
PUBLICITY_TIMER = "publicity_expired"
MAX_TEXT = 1000
MAX_CONTACT = 200
MAX_NOTE = 1000
#: Who the instance's history says sent the message.
PUBLIC = Actor("public")
#: The city's discipline commission (纪委): sees all feedback, and gets a unit's when the
#: unit has no discipline officer.
CITY_COMMISSION = "discipline_commission"
OFFICER = "discipline_officer:"


def hash_address(address: str | None, secret: str | bytes) -> str | None:
    """A keyed digest (HMAC-SHA256, hex) of a client address: the same address gives the
    same digest under the same secret, and the address cannot be read back from it."""
    if not address:
        return None
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def clean_feedback(text: str | None, contact: str | None = None) -> tuple[str, str | None]:
    """The text and contact as they are stored: trimmed, checked; ``ValidationFailed`` names
    the field."""
    errors: dict[str, object] = {}
    body = (text or "").strip()
    if not body:
        errors["text"] = ["required"]
    elif len(body) > MAX_TEXT:
        errors["text"] = [f"at most {MAX_TEXT} characters"]
    reach = (contact or "").strip() or None
    if reach is not None and len(reach) > MAX_CONTACT:
        errors["contact"] = [f"at most {MAX_CONTACT} characters"]
    if errors:
        raise ValidationFailed("the feedback has invalid fields", errors)
    return body, reach


@dataclass(frozen=True)
class Receipt:
    feedback_id: int
    #: Taken by a waiting cycle (``instance_id``); else kept for the discipline officer.
    delivered: bool
    instance_id: int | None


def submit_feedback(uow: UnitOfWork, post_code: str, text: str | None,
                    contact: str | None = None, *, year: int | None = None,
                    address_hash: str | None = None, process: str = DEFAULT_PROCESS,
                    keep_undelivered: bool = True) -> Receipt:
    """Store feedback on a post and deliver it to the post's waiting cycle (see the module's
    description). Unknown post: ``NotFound``; bad text or contact: ``ValidationFailed``. With
    ``keep_undelivered=False`` feedback no cycle takes is not kept: the ``NotFound`` /
    ``Conflict`` that refused it is raised. Commits."""
    body, reach = clean_feedback(text, contact)
    post = get_post(uow, post_code)
    code, name, unit_code = post.code, post.name, post.department.unit.code
    payload = {"text": body, **({"contact": reach} if reach else {})}
    refused: IrpmError | None = None
    for attempt in range(2):  # a lost race with another writer of the cycle: once more
        try:
            instance_id = find_instance(uow, process, code).id
            # The cycle is locked before the feedback row refers to it, so two senders
            # queue here rather than deadlock (PostgreSQL: key-share, then update lock).
            lock_instance(uow, instance_id)
            row = _store(uow, code, unit_code, year, body, reach, address_hash, instance_id)
            send_message(uow, instance_id, MESSAGE, payload, PUBLIC)  # commits both
            return Receipt(row.id, True, instance_id)
        except (ConcurrentUpdate, DBAPIError) as exc:
            uow.rollback()
            if isinstance(exc, DBAPIError) and not _is_contention(exc):
                raise
            refused = exc if isinstance(exc, ConcurrentUpdate) else ConcurrentUpdate(
                f"process instance of {code} was busy; try again")
            if attempt:
                break
        except (NotFound, Conflict) as exc:  # no active cycle, or it takes no suggestion now
            uow.rollback()
            refused = exc
            break
    if not keep_undelivered:
        assert refused is not None
        raise refused
    row = _store(uow, code, unit_code, year, body, reach, address_hash, None)
    _notify_officers(uow, row, name)
    uow.commit()
    return Receipt(row.id, False, None)


def _store(uow: UnitOfWork, post_code: str, unit_code: str, year: int | None, text: str,
           contact: str | None, address_hash: str | None, instance_id: int | None) -> Feedback:
    row = Feedback(post_code=post_code, unit_code=unit_code, year=year, text=text,
                   contact=contact, address_hash=address_hash, created_at=clock.now(uow),
                   instance_id=instance_id)
    uow.session.add(row)
    uow.session.flush()
    return row


def _notify_officers(uow: UnitOfWork, row: Feedback, post_name: str) -> None:
    """Tell the unit's discipline officer (else the city's commission) of pending feedback."""
    group = f"{OFFICER}{row.unit_code}"
    found = membership.members(uow, [group, CITY_COMMISSION])
    people = found[group] or found[CITY_COMMISSION]
    now = clock.now(uow)
    notifications.create(uow, [{
        "recipient": person, "kind": NotificationKind.FEEDBACK.value, "task_id": None,
        "instance_id": None, "feedback_id": row.id, "subject": f"{post_name}({row.post_code})",
        "process_name": None, "unit_code": row.unit_code, "post_code": row.post_code,
        "due_at": None, "actor": None, "detail": row.text[:500], "created_at": now,
        "read_at": None, "dedupe_key": None} for person in sorted(people)])


# ------------------------------------------------------------------- the officer's list


def feedback_units(actor: Actor) -> frozenset[str] | None:
    """The units whose feedback ``actor`` may see: None for all (administrators, the city's
    discipline commission), else those it is the discipline officer of (maybe none)."""
    if actor.is_admin or CITY_COMMISSION in actor.groups:
        return None
    return frozenset(g[len(OFFICER):] for g in actor.groups if g.startswith(OFFICER))


def may_see_feedback(actor: Actor) -> bool:
    units = feedback_units(actor)
    return units is None or bool(units)


@dataclass(frozen=True)
class FeedbackRow:
    feedback: Feedback
    post_name: str | None
    unit_name: str | None


@dataclass(frozen=True)
class FeedbackPage:
    rows: list[FeedbackRow]
    total: int


def list_feedback(uow: UnitOfWork, actor: Actor, *, pending_only: bool = True,
                  unit_code: str | None = None, limit: int = 25,
                  offset: int = 0) -> FeedbackPage:
    """Feedback of the units ``actor`` oversees (``feedback_units``), newest first; only the
    pending (undelivered, not handled) by default. Nobody's officer: ``Forbidden``."""
    units = feedback_units(actor)
    if units is not None and not units:
        raise Forbidden(f"{actor.user} is no unit's discipline officer")
    where: list[Any] = []
    if units is not None:
        where.append(Feedback.unit_code.in_(sorted(units)))
    if unit_code:
        where.append(Feedback.unit_code == unit_code)
    if pending_only:
        where += [Feedback.instance_id.is_(None), Feedback.handled_at.is_(None)]
    stmt = (select(Feedback, Post.name, Unit.name)
            .outerjoin(Post, Post.code == Feedback.post_code)
            .outerjoin(Unit, Unit.code == Feedback.unit_code).where(*where)
            .order_by(Feedback.id.desc()).limit(limit).offset(offset))
    rows = [FeedbackRow(f, post, unit) for f, post, unit in uow.session.execute(stmt)]
    total = uow.session.scalar(select(func.count()).select_from(Feedback).where(*where))
    return FeedbackPage(rows, int(total or 0))


def _officers_feedback(uow: UnitOfWork, feedback_id: int, actor: Actor) -> Feedback:
    """The feedback if ``actor`` oversees its unit; else ``NotFound`` (not ``Forbidden``:
    another unit's feedback is not even said to exist)."""
    row = uow.session.get(Feedback, feedback_id)
    units = feedback_units(actor)
    if row is None or (units is not None and row.unit_code not in units):
        raise NotFound(f"no feedback {feedback_id} for {actor.user}")
    return row


def _clean_note(note: str | None) -> str | None:
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise ValidationFailed(f"the note has at most {MAX_NOTE} characters",
                               {"note": ["too long"]})
    return text


def _handle(uow: UnitOfWork, row: Feedback, actor: Actor, note: str | None) -> None:
    now = clock.now(uow)
    row.handled_at, row.handled_by, row.handling_note = now, actor.user, note
    uow.session.execute(update(Notification).where(
        Notification.feedback_id == row.id, Notification.read_at.is_(None))
        .values(read_at=now).execution_options(synchronize_session=False))


def mark_feedback_handled(uow: UnitOfWork, feedback_id: int, actor: Actor,
                          note: str | None = None) -> Feedback:
    """The discipline officer dealt with pending feedback (``note``: how). Its
    notifications are marked read for everyone. Commits."""
    row = _officers_feedback(uow, feedback_id, actor)
    if row.instance_id is not None:
        raise Conflict(f"feedback {feedback_id} was delivered to process instance "
                       f"{row.instance_id}; it is handled there")
    if row.handled_at is not None:
        raise Conflict(f"feedback {feedback_id} was handled by {row.handled_by}")
    _handle(uow, row, actor, _clean_note(note))
    uow.commit()
    return row


def reopen_review(uow: UnitOfWork, feedback_id: int, actor: Actor, note: str | None = None,
                  *, process: str = DEFAULT_PROCESS) -> int:
    """Take feedback as an objection to the published level: the post's cycle, waiting out
    its publicity, gets ``publicity_objection`` ({text, contact?, feedback_id, note?}) and
    goes back to grading and review (严格审核把关) — then publishes again.

    A suggestion the officer records as a risk point only re-grades the post; an objection
    says the published grading itself must be looked at again, which only the unit's
    discipline officer (or the city's commission) may decide. Refused, with nothing changed,
    when the post is not in publicity now (``Conflict``). Pending feedback becomes handled
    by it. Returns the cycle's instance id. Commits.
    """
    row = _officers_feedback(uow, feedback_id, actor)
    text = _clean_note(note)
    code = row.post_code
    try:
        instance_id = find_instance(uow, process, code).id
    except NotFound:
        raise Conflict(f"post {code} has no running cycle; there is no grading to re-open "
                       "(review re-opens only while the post's level is in publicity)") from None
    payload: dict[str, Any] = {"text": row.text, "feedback_id": row.id}
    if row.contact:
        payload["contact"] = row.contact
    if text:
        payload["note"] = text
    lock_instance(uow, instance_id)
    if row.pending:
        _handle(uow, row, actor, text or "重新审核定级")
    try:
        send_message(uow, instance_id, OBJECTION, payload, actor)  # commits both
    except Conflict:
        uow.rollback()
        raise Conflict(f"post {code} is not in publicity now; its grading can be re-opened "
                       "only during the publicity period (公示期)") from None
    return instance_id


def uphold_complaint(uow: UnitOfWork, feedback_id: int, actor: Actor,
                     note: str | None = None) -> ProcessInstance:
    """Uphold pending feedback as a complaint about the post holder's conduct — not an
    objection to the level (``reopen_review``): "对群众有投诉、社会有反映……的,采取谈话提醒、
    诫勉纠错等措施". A disposal of the post starts (source ``complaint``, the feedback's text
    as the finding, ``note`` as why) and the feedback becomes handled, in one commit. Only
    the unit's discipline officer or the city's commission (``Forbidden`` otherwise, another
    unit's feedback is ``NotFound``); feedback a cycle took is upheld in its review task
    (``Conflict``). Returns the disposal's instance."""
    row = _officers_feedback(uow, feedback_id, actor)
    if not disposals.may_start_by_hand(actor, row.unit_code):
        raise Forbidden(f"{actor.user} may not start a disposal: only the unit's discipline "
                        "officer (纪检监察员) or the city's discipline commission (市纪委) may")
    if row.instance_id is not None:
        raise Conflict(f"feedback {feedback_id} was delivered to process instance "
                       f"{row.instance_id}; uphold it in its review task (审核群众意见)")
    if row.handled_at is not None:
        raise Conflict(f"feedback {feedback_id} was handled by {row.handled_by}")
    text = _clean_note(note)
    post = get_post(uow, row.post_code)
    year = row.year if row.year is not None else disposals.default_year(uow, post)
    instance = disposals.begin(uow, post.code, year, {
        "source": "complaint", "description": row.text, "reason": text}, actor)
    _handle(uow, row, actor, text or f"投诉属实,已启动后期处置 {instance.business_key}")
    uow.commit()
    return instance


# ------------------------------------------------------------------------ in publicity


@dataclass(frozen=True)
class PublicityUnit:
    """A unit with posts in publicity now: for ``year``, ``posts`` of them, the last
    publicity ending at ``ends_at``."""

    unit_code: str
    unit_name: str
    year: int
    posts: int
    ends_at: datetime


def _publicity_timers(uow: UnitOfWork, process: str,
                      unit_code: str | None = None) -> list[tuple[int, str, str, str, datetime]]:
    """(post id, post code, unit code, unit name, publicity end) per post in publicity."""
    stmt = (select(Post.id, Post.code, Unit.code, Unit.name, PendingTimer.due_at)
            .select_from(PendingTimer)
            .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
            .join(Post, Post.code == ProcessInstance.business_key)
            .join(Department, Department.id == Post.department_id)
            .join(Unit, Unit.id == Department.unit_id)
            .where(PendingTimer.element_id == PUBLICITY_TIMER,
                   ProcessInstance.process_id == process,
                   ProcessInstance.status.in_(ACTIVE_STATUSES)))
    if unit_code is not None:
        stmt = stmt.where(Unit.code == unit_code)
    return [tuple(row) for row in uow.session.execute(stmt)]  # type: ignore[misc]


def _published_years(uow: UnitOfWork, post_ids: list[int]) -> dict[int, int]:
    years: dict[int, int] = {}
    for start in range(0, len(post_ids), 500):
        years.update((post_id, year) for post_id, year in uow.session.execute(
            select(PostGrading.post_id, func.max(PostGrading.year))
            .where(PostGrading.post_id.in_(post_ids[start:start + 500]),
                   PostGrading.published_at.is_not(None))
            .group_by(PostGrading.post_id)))
    return years


def units_in_publicity(uow: UnitOfWork, process: str = DEFAULT_PROCESS) -> list[PublicityUnit]:
    """The units with posts in publicity now, by unit code (and year)."""
    timers = _publicity_timers(uow, process)
    years = _published_years(uow, sorted({t[0] for t in timers}))
    groups: dict[tuple[str, str, int], list[datetime]] = defaultdict(list)
    for post_id, _post, unit, unit_name, ends in timers:
        if post_id in years:
            groups[(unit, unit_name, years[post_id])].append(ends)
    return [PublicityUnit(unit, name, year, len(ends), max(ends))
            for (unit, name, year), ends in sorted(groups.items())]


def posts_in_publicity(uow: UnitOfWork, unit_code: str,
                       process: str = DEFAULT_PROCESS) -> dict[str, datetime]:
    """The unit's posts in publicity now, with when their publicity ends."""
    get_unit(uow, unit_code)  # an unknown unit: NotFound
    return {post: ends for _id, post, _unit, _name, ends
            in _publicity_timers(uow, process, unit_code)}
