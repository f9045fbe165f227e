"""What a task list shows beside a task's own columns: an extension point.

A human task carries the codes of whose task it is (``unit_code``, ``department_code``,
``post_code``, copied from the task data when it is created) but the runtime owns no
organisation to name them. When the inbox shows a page of tasks, or searches tasks by text,
it asks the ``TaskColumns`` its runtime was built with:

* ``labels`` — the names (and a post's risk level) behind the codes of one page's rows,
  looked up together for the page's few codes, never row by row;
* ``search`` — an extra condition on the task table that a search text also matches (the
  task's own name and post code are always searched).

``CodeColumns`` — the default — knows no names: lists show codes, searches look at the
task's name and post code only. The integrity programme plugs in its organisation
(``engine.programme.task_columns``) in its composition root.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import ColumnElement

if TYPE_CHECKING:
    from .db import UnitOfWork


@dataclass(frozen=True)
class TaskLabels:
    """Names by code for one page of tasks; a code without a name is simply absent."""

    unit_names: dict[str, str] = field(default_factory=dict)
    department_names: dict[str, str] = field(default_factory=dict)
    post_names: dict[str, str] = field(default_factory=dict)
    #: The post's risk level (1–3) as last graded, for posts that have one.
    post_levels: dict[str, int] = field(default_factory=dict)


class TaskColumns(Protocol):
    def labels(self, uow: UnitOfWork, *, unit_codes: Set[str], department_codes: Set[str],
               post_codes: Set[str]) -> TaskLabels:
        """The names behind the codes of one page's rows (each set: the distinct non-empty
        codes of that column). A few indexed lookups for the whole page."""
        ...

    def search(self, pattern: str) -> ColumnElement[bool] | None:
        """A condition on ``HumanTask`` (e.g. ``HumanTask.post_code.in_(…)``) that the
        search ``pattern`` — a LIKE pattern, ``\\`` its escape character — also matches,
        or None. No join: the inbox reads the task table alone for a page's ids."""
        ...


class CodeColumns:
    """The runtime on its own: codes only, no names to search."""

    def labels(self, uow: UnitOfWork, *, unit_codes: Set[str], department_codes: Set[str],
               post_codes: Set[str]) -> TaskLabels:
        return TaskLabels()

    def search(self, pattern: str) -> ColumnElement[bool] | None:
        return None
