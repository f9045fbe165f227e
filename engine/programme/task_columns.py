"""The organisation's names in task lists: the runtime's ``TaskColumns`` for the programme.

A task's unit, department and post codes are shown with their names, and its post with the
risk level the post was last graded (``PostGrading`` of the latest year; an override
counts) — what decides who answers for the task. A search of tasks also matches the names
of their posts.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, literal, null, select, union_all

from ..db import UnitOfWork
from ..models import HumanTask
from ..task_columns import TaskLabels
from .models import Department, Post, PostGrading, Unit


def _names(kind: str, model: Any) -> Any:
    """Names by code, shaped like the posts' rows (no gradings)."""
    return select(literal(kind).label("kind"), model.code.label("code"),
                  model.name.label("name"), cast(null(), Integer).label("year"),
                  cast(null(), Integer).label("level"), cast(null(), Integer).label("override"))


class OrgTaskColumns:
    def labels(self, uow: UnitOfWork, *, unit_codes: Set[str], department_codes: Set[str],
               post_codes: Set[str]) -> TaskLabels:
        """One statement for the page: the units' and departments' names, and the posts'
        names with each of their gradings, oldest year first (so the latest one wins)."""
        parts = []
        if unit_codes:
            parts.append(_names("unit", Unit)
                         .where(Unit.code.in_(sorted(unit_codes))))
        if department_codes:
            parts.append(_names("department", Department)
                         .where(Department.code.in_(sorted(department_codes))))
        if post_codes:
            parts.append(select(literal("post").label("kind"), Post.code, Post.name,
                                PostGrading.year, PostGrading.level,
                                PostGrading.override_level)
                         .outerjoin(PostGrading, PostGrading.post_id == Post.id)
                         .where(Post.code.in_(sorted(post_codes))))
        labels = TaskLabels()
        if not parts:
            return labels
        found = {"unit": labels.unit_names, "department": labels.department_names,
                 "post": labels.post_names}
        everything = union_all(*parts)
        for kind, code, name, _year, level, override in uow.session.execute(
                everything.order_by(everything.selected_columns.year)):
            found[kind][code] = name
            if level is not None:
                labels.post_levels[code] = override if override is not None else level
        return labels

    def search(self, pattern: str) -> ColumnElement[bool]:
        """Tasks of the posts whose name matches: a subquery over the (small) post table,
        so the task table is still read alone."""
        return HumanTask.post_code.in_(
            select(Post.code).where(Post.name.ilike(pattern, escape="\\")))
