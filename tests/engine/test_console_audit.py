"""The audit log: entries commit with the operation that wrote them, and the log reads
newest first, filtered and keyset-paginated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ValidationFailed
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.services import audit
from tests.conftest import ADMIN


def _count(rt: Runtime) -> int:
    with rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_an_entry_commits_with_its_operation_and_not_without(rt: Runtime) -> None:
    with rt.uow() as uow:
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:7", "stuck", {"a": 1})
        # no commit: the operation failed, so its record goes too
    assert _count(rt) == 0
    with rt.uow() as uow:
        entry = audit.record_admin_action(uow, ADMIN, "suspend", "instance:7", "stuck",
                                             {"a": 1})
        uow.commit()
    assert entry.instance_id == 7 and entry.actor == "admin"
    with rt.uow(write=False) as uow:
        page = audit.list_audit(uow, audit.AuditFilter(instance_id=7))
    assert [(e.action, e.reason, e.details) for e in page.entries] == [
        ("suspend", "stuck", {"a": 1})]


def test_filters_and_keyset_pages(rt: Runtime) -> None:
    with rt.uow() as uow:
        for n in range(5):
            audit.record_admin_action(uow, "jiwei" if n % 2 else "admin",
                                         "resume" if n == 4 else "suspend",
                                         f"instance:{n}", f"reason {n}")
        uow.commit()
    with rt.uow(write=False) as uow:
        first = audit.list_audit(uow, audit.AuditFilter(limit=2))
        assert [e.target for e in first.entries] == ["instance:4", "instance:3"]
        assert first.next_before is not None
        second = audit.list_audit(uow, audit.AuditFilter(limit=2,
                                                                before=first.next_before))
        assert [e.target for e in second.entries] == ["instance:2", "instance:1"]
        by_actor = audit.list_audit(uow, audit.AuditFilter(actor="jiwei"))
        assert {e.target for e in by_actor.entries} == {"instance:1", "instance:3"}
        by_action = audit.list_audit(uow, audit.AuditFilter(action="resume"))
        assert [e.target for e in by_action.entries] == ["instance:4"]
        assert audit.audit_actions(uow) == ["resume", "suspend"]


def test_a_reason_too_long_is_refused_and_nothing_written(rt: Runtime) -> None:
    with rt.uow() as uow, pytest.raises(ValidationFailed, match="at most"):
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:1", "x" * 2001)
    assert _count(rt) == 0
