"""The register writes one post's yearly cycle makes, in the caller's transaction.

bpmn/post_cycle.bpmn writes the risk register through service-task operators
(``engine.programme``) that run inside the engine's transaction, so nothing here commits:
the step of the process and what it wrote are committed together, or neither is. Every
change is versioned in ``register_change`` like the register's other writes.

- ``publish_post`` — 公示 for one post: "要严格审核把关,确定岗位廉政风险等级,并进行公示,明确监管
  内容,落实监管责任,接受群众监督" (``register_grading.publish`` is the unit-wide one);
- ``archive_post`` — 建立信息档案: once publicity is over, the year's file of the post holds
  every risk point found that year, published;
- ``record_measures`` — 健全防控措施: measures against the post's risk points, which are then
  controlled ("通过前期预防、中期监控和后期处置等措施,对可能发生的腐败行为实施有效控制").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import ValidationFailed
from ..models import ControlMeasure, Post, PostGrading, RiskPoint, RiskStatus
from ..registerschema import MeasureInput, PostYear
from .register_grading import UNPUBLISHED, find_grading
from .register_measures import new_measure
from .register_writes import GRADING, RISK_POINT, by_code, history, load_input

#: Statuses a risk point leaves once measures are set against it.
_UNCONTROLLED = (*UNPUBLISHED, RiskStatus.PUBLISHED.value)


def _post_year(uow: UnitOfWork, post_code: str, year: int, what: str) -> tuple[Post, int]:
    data = load_input(PostYear, {"post": post_code, "year": year}, what)
    return by_code(uow, Post, "post", data["post"]), data["year"]


def _points(uow: UnitOfWork, post: Post, year: int,
            statuses: Iterable[str] | None = None) -> list[RiskPoint]:
    """The post's risk points of ``year``, locked, in id order (the register's lock order:
    risk points first, then the grading)."""
    stmt = select(RiskPoint).where(RiskPoint.post_id == post.id, RiskPoint.year == year)
    if statuses is not None:
        stmt = stmt.where(RiskPoint.status.in_(list(statuses)))
    return list(uow.session.scalars(stmt.order_by(RiskPoint.id).with_for_update()))


def _graded(uow: UnitOfWork, post: Post, year: int) -> PostGrading:
    grading = find_grading(uow, post, year)
    if grading is None:
        message = f"post {post.code} has no grading for {year}: grade it first"
        raise ValidationFailed(message, {"post": [message]})
    return grading


def publish_post(uow: UnitOfWork, post_code: str, year: int, actor: Actor) -> PostGrading:
    """Publish the post's level for ``year`` now — again after a re-review, so the page shows
    when the level in force went public — and mark its risk points of that year published."""
    post, year = _post_year(uow, post_code, year, "publication")
    points = _points(uow, post, year, UNPUBLISHED)
    grading = _graded(uow, post, year)
    log = history(uow, actor)
    log.set(GRADING, grading, "published_at", log.at)
    for point in points:
        log.set(RISK_POINT, point, "status", RiskStatus.PUBLISHED.value)
    return grading


def archive_post(uow: UnitOfWork, post_code: str, year: int,
                 actor: Actor) -> tuple[PostGrading, list[RiskPoint]]:
    """File the post's year once its publicity is over: the level must have been published,
    and risk points found after publication (a public suggestion accepted during publicity)
    join the published file. Returns the grading and every risk point of the year."""
    post, year = _post_year(uow, post_code, year, "archive")
    points = _points(uow, post, year)
    grading = _graded(uow, post, year)
    if grading.published_at is None:
        message = (f"the level of post {post.code} for {year} was not published: publicity "
                   "comes before the archive")
        raise ValidationFailed(message, {"post": [message]})
    log = history(uow, actor)
    for point in points:
        if point.status in UNPUBLISHED:
            log.set(RISK_POINT, point, "status", RiskStatus.PUBLISHED.value)
    return grading, points


def record_measures(uow: UnitOfWork, post_code: str, year: int,
                    measures: Sequence[Mapping[str, Any]], actor: Actor) -> list[ControlMeasure]:
    """Set measures against the post's risk points of ``year``: each measure is
    ``MeasureInput`` (``{kind, description, owner, due_date, status}``) plus an optional
    ``risk_points`` list of ids (default: every risk point of the post that year). The risk
    points measured become controlled. All are written or none."""
    post, year = _post_year(uow, post_code, year, "control measures")
    if not measures:
        raise ValidationFailed("no control measures given", {"measures": ["empty"]})
    points = {p.id: p for p in _points(uow, post, year)}
    if not points:
        message = f"post {post.code} has no risk points in {year} to set measures against"
        raise ValidationFailed(message, {"post": [message]})
    plan = [_targets(index, measure, points, post, year)
            for index, measure in enumerate(measures)]  # everything checked before a write
    log = history(uow, actor)
    rows = []
    for data, targets in plan:
        for point in targets:
            rows.append(new_measure(uow, point, dict(data), log))
            if point.status in _UNCONTROLLED:
                log.set(RISK_POINT, point, "status", RiskStatus.CONTROLLED.value)
    return rows


def _targets(index: int, measure: Mapping[str, Any], points: dict[int, RiskPoint], post: Post,
             year: int) -> tuple[dict[str, Any], list[RiskPoint]]:
    wanted = measure.get("risk_points")
    unknown = sorted(set(wanted or ()) - points.keys())
    if unknown:
        message = (f"risk point(s) {', '.join(map(str, unknown))} are not risk points of "
                   f"post {post.code} in {year}")
        raise ValidationFailed(message, {f"measures.{index}.risk_points": [message]})
    data = load_input(MeasureInput, {k: v for k, v in measure.items() if k != "risk_points"},
                      f"control measure {index + 1}")
    return data, [points[i] for i in (wanted or sorted(points))]
