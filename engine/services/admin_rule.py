"""The one rule for administrative acts: who may perform them, and the reason each needs.

An administrative act overrides what a process or the organisation decided — suspending,
resuming, terminating or retrying an instance, moving its token, migrating it to another
version, changing its variables, reassigning its task, a batch of any of these, moving the
simulated clock, unlocking an account or ending its sessions. Every such act, whether it
comes from the console, the REST API or the ``irpm`` command line, is an engine service that
asks this module first, so the three doors cannot disagree (issue 13, finding 5: the API
once let the city's discipline commission steer instances the console refused it).

The rule: **administrators act** (``Actor.is_admin``: the ``admin`` role, or the runtime's
``Actor.system()``). Everyone else — the city's discipline commission included, which reads
every instance, task and audit entry — is refused with ``Forbidden`` before anything is
read or written. The commission reads everywhere and acts nowhere; the web areas that show
it everything (``web.console.may_view``, ``web.api.base.oversees_all``) are about reading.

Every act needs a reason (``require_reason``): it goes into the audit log
(``engine.services.audit.record_admin_action``) in the same transaction as the change.
"""

from __future__ import annotations

from ..actors import Actor
from ..errors import Forbidden, ValidationFailed

__all__ = ["MAX_REASON", "MIN_REASON", "may_administer", "require_administrator",
           "require_reason"]

#: The shortest reason accepted (after stripping spaces): anything said at all, as the
#: console's forms have always asked.
MIN_REASON = 1
#: The longest reason accepted; a longer one is refused rather than cut.
MAX_REASON = 500


def may_administer(actor: Actor | None) -> bool:
    """Whether ``actor`` may perform administrative acts: administrators only."""
    return actor is not None and actor.is_admin


def require_administrator(actor: Actor, action: str) -> None:
    """Refuse (``Forbidden``) anyone but an administrator; ``action`` says what was tried,
    e.g. ``"suspend instances"``."""
    if not may_administer(actor):
        raise Forbidden(f"only administrators may {action}; {actor.user} is not one (the "
                        "city's discipline commission reads everything but acts nowhere)")


def require_reason(reason: str | None) -> str:
    """The reason, stripped; refused (``ValidationFailed`` on the field ``reason``) when it
    is missing, blank or longer than ``MAX_REASON``."""
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise ValidationFailed("give a reason: every administrative act is kept in the audit "
                               "log with why it was done", {"reason": ["required"]})
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"the reason has {len(text)} characters; at most {MAX_REASON}",
                               {"reason": ["too long"]})
    return text
