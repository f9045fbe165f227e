"""The completion check ``register.level_floor`` (``engine.completion_checks``): a change of
a post's level in a form may not go below the post rule's level.

bpmn/post_cycle.bpmn's 调整风险等级 names it (``completionCheck``), so a level below the
floor comes back to the reviewer at the field ``new_level`` with the sentence of the rule it
violates, and nothing changes — rather than failing the ``register.override_level`` step
after it (which refuses the same level: ``register_grading.check_floor`` is the one rule).
It reads the task's ``post_code`` and ``new_level``, and grades by the tables of the
instance's process version.
"""

from __future__ import annotations

from ..completion_checks import CompletionCheckCall
from ..errors import ValidationFailed
from .models import Post
from .services.register_grading import check_floor
from .services.register_writes import by_code

NAME = "register.level_floor"
FIELD = "new_level"


def check(call: CompletionCheckCall) -> None:
    level = call.data.get(FIELD)
    if isinstance(level, bool) or not isinstance(level, int):
        message = f"{FIELD} must be a level 1, 2 or 3"
        raise ValidationFailed(message, {FIELD: [message]})
    post = by_code(call.uow, Post, "post_code", str(call.data.get("post_code")))
    check_floor(call.uow, post, level, field=FIELD, definition_id=call.definition_id)
