"""The database dumps of engine/backup/databases.py are consistent while the app writes: a
dump taken while another transaction holds its write lock neither waits for it (SQLite's
online backup reads beside the writer; PostgreSQL's pg_dump reads an exported snapshot) nor
holds what that transaction has not committed. The whole backup and restore, through the
command line: tests/web/test_cli_backup.py."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine import audit_chain
from engine.backup.databases import PgTools, dump_database, row_counts
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.services import audit


def test_a_dump_beside_an_open_write_transaction_holds_only_what_was_committed(
        rt: Runtime, tmp_path: Path) -> None:
    with rt.uow() as uow:
        audit.record_admin_action(uow, "admin", "probe", "probe:committed")
        uow.commit()
    committed = row_counts(rt.db)["admin_audit"]
    with rt.uow() as writer:
        audit.record_admin_action(writer, "admin", "probe", "probe:uncommitted")
        audit_chain.seal(writer.session)  # written now (linked), not at the commit
        # The writer holds its lock (SQLite: BEGIN IMMEDIATE) while the dump runs.
        dump = dump_database(rt.db, tmp_path, PgTools(rt.settings.pg_bin_dir))
        assert writer.session.scalar(select(func.count()).select_from(AuditEntry)) == \
            committed + 1
        writer.commit()

    assert dump.tables["admin_audit"] == committed
    assert dump.revision is not None and dump.path.is_file()
    assert row_counts(rt.db)["admin_audit"] == committed + 1
