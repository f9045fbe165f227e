"""Backing up and restoring an installation: the database and its evidence files, as one
archive (``engine.backup.archive``) — what ``irpm backup`` and ``irpm restore`` run.

A backup is consistent while the app and the scheduler keep writing: the database is dumped
first from one snapshot (``engine.backup.databases``), then the evidence files it refers to
are added — a file is written to the store before its row commits and never changed after,
so every file the dump refers to is there. Files the database refers to but the store lacks
(or holds damaged) are listed in the manifest and logged, never silently dropped.

A restore checks everything before it changes anything: the archive whole (every checksum),
the kind of database, the schema revision (not newer than this code's), and that the target
is empty — unless ``force``, which replaces whatever the target holds. Then the evidence
files (content-addressed: if the load then fails, they are unreferenced copies, harmless),
then the database in one step, the row counts compared with the manifest, the migrations up
to head when the backup is older. Each backup and restore is written to the
audit log (``backup`` / ``restore``) and logged (``irpm.backup``).

The runtime must be fresh (the CLI's): a restore replaces the database under it, so caches
filled before would not match; stop the app and the scheduler while restoring.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from ..backup import BackupFailed, BackupRefused
from ..backup.archive import (
    DATABASE_MEMBERS,
    FileEntry,
    Manifest,
    digest_of,
    evidence_members,
    is_digest,
    read_archive,
    write_archive,
)
from ..backup.databases import (
    PgTools,
    dump_database,
    load_database,
    objects_in,
    refuse_kind,
    row_counts,
)
from ..migrate import alembic_config, current_revision, upgrade
from ..runtime import Runtime
from . import audit

__all__ = ["BackupDone", "RestoreDone", "create_backup", "restore_backup"]

log = logging.getLogger("irpm.backup")


@dataclass(frozen=True)
class BackupDone:
    path: Path
    manifest: Manifest
    #: The archive's own size and SHA-256 (kept in the audit log).
    archive: FileEntry
    #: Whether the audit log holds the backup: not for a database whose schema is older than
    #: the code (backed up before ``irpm db upgrade``), whose log lacks what this code writes
    #: (the hash chain of migration 0016) — then only the ``irpm.backup`` log has it.
    audited: bool = True


@dataclass(frozen=True)
class RestoreDone:
    manifest: Manifest
    #: The schema revision after the restore (head).
    revision: str
    #: Evidence files written to the store (those already there with the right content
    #: are kept).
    evidence_written: int
    #: What the target held and ``force`` replaced.
    replaced: list[str] = field(default_factory=list)


def create_backup(rt: Runtime, target: Path, *, evidence_store: Path, actor: str,
                  reason: str | None = None) -> BackupDone:
    """Write a backup of ``rt``'s database and the evidence files it refers to as
    ``target`` (a new file)."""
    if target.exists():
        raise BackupRefused(f"{target} exists already: a backup never overwrites a file; "
                            "choose a new name")
    if not target.parent.is_dir():
        raise BackupRefused(f"the directory {target.parent} does not exist")
    kind = rt.db.dialect.name
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".irpm-backup-") as work:
        dump = dump_database(rt.db, Path(work), PgTools(rt.settings.pg_bin_dir))
        if dump.revision is None:
            raise BackupFailed("the database is not migrated (no schema revision): there is "
                               "nothing to back up")
        present = [d for d in dump.evidence if is_digest(d) and (evidence_store / d).is_file()]
        manifest = write_archive(target, Manifest(
            created_at=datetime.now(UTC), created_by=actor, database=kind,
            revision=dump.revision, tables=dump.tables,
            evidence_missing=sorted(set(dump.evidence) - set(present))),
            {DATABASE_MEMBERS[kind]: dump.path, **evidence_members(evidence_store, present)})
    at_head = manifest.revision == _head(rt)
    done = BackupDone(target, manifest, digest_of(target), audited=at_head)
    if at_head:
        with rt.uow() as uow:
            audit.record_admin_action(uow, actor, "backup", f"backup:{target.name}", reason,
                                      _details(done.manifest, done.archive))
            uow.commit()
    else:
        log.warning("backup %s of a database at revision %s, older than the code's %s: not "
                    "written to its audit log (migrate it to have one); logged here only",
                    target, manifest.revision, _head(rt))
    log.info("backup %s written by %s: %s database at revision %s, %d rows in %d tables, "
             "%d evidence file(s), %d bytes, sha256 %s", target, actor, kind,
             manifest.revision, sum(manifest.tables.values()), len(manifest.tables),
             len(manifest.evidence), done.archive.size, done.archive.sha256)
    if manifest.evidence_missing:
        log.warning("backup %s: %d evidence file(s) the database refers to are missing from "
                    "the store %s or damaged: %s", target, len(manifest.evidence_missing),
                    evidence_store, ", ".join(manifest.evidence_missing))
    return done


def _details(manifest: Manifest, archive: FileEntry, **more: Any) -> dict[str, Any]:
    return {"database": manifest.database, "revision": manifest.revision,
            "created_at": manifest.created_at.isoformat(), "created_by": manifest.created_by,
            "tables": len(manifest.tables), "rows": sum(manifest.tables.values()),
            "evidence_files": len(manifest.evidence),
            "evidence_missing": len(manifest.evidence_missing),
            "archive_sha256": archive.sha256, "archive_bytes": archive.size, **more}


def restore_backup(rt: Runtime, source: Path, *, evidence_store: Path, actor: str,
                   reason: str | None = None, force: bool = False) -> RestoreDone:
    """Restore the backup ``source`` into ``rt``'s database (empty, unless ``force``: then
    everything in it is replaced) and its evidence files into ``evidence_store``."""
    tools = PgTools(rt.settings.pg_bin_dir)
    with tempfile.TemporaryDirectory(prefix="irpm-restore-") as work:
        try:
            manifest = read_archive(source, Path(work))
            refuse_kind(manifest.database, rt.db)
            _refuse_newer(rt, manifest.revision)
            present = objects_in(rt.db)
            if present and not force:
                raise BackupRefused(_not_empty(rt, present))
        except BackupRefused as exc:
            log.warning("restore of %s by %s refused: %s", source, actor, exc.message)
            raise BackupRefused(f"the backup {source} is not restored (nothing was changed): "
                                f"{exc.message}") from None
        archive = digest_of(source)
        written = _restore_evidence(Path(work), manifest, evidence_store)
        try:
            load_database(rt.db, Path(work) / manifest.database_member, tools,
                          replace=bool(present))
        except BackupFailed as exc:
            log.error("restore of %s by %s failed while loading: %s", source, actor,
                      exc.message)
            raise BackupFailed(f"the backup {source} could not be loaded; the database is as "
                               f"it was (the load is one transaction): {exc.message}") from None
    _check_rows(rt, manifest)
    if current_revision(rt.db) != _head(rt):
        upgrade(rt.db)
    revision = current_revision(rt.db) or ""
    rt.workflows.clear()
    with rt.uow() as uow:
        audit.record_admin_action(uow, actor, "restore", f"backup:{source.name}", reason,
                                  _details(manifest, archive, migrated_to=revision,
                                           evidence_written=written, replaced=len(present)))
        uow.commit()
    log.info("backup %s restored by %s into %s: revision %s (now %s), %d rows in %d tables, "
             "%d evidence file(s) written%s", source, actor, _where(rt), manifest.revision,
             revision, sum(manifest.tables.values()), len(manifest.tables), written,
             f", replacing {len(present)} object(s)" if present else "")
    return RestoreDone(manifest, revision, written, present)


def _where(rt: Runtime) -> str:
    return rt.db.url.render_as_string(hide_password=True)


def _not_empty(rt: Runtime, present: list[str]) -> str:
    shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
    return (f"the database {_where(rt)} is not empty (it holds {len(present)} tables, "
            f"indexes and other objects: {shown}); restore into a new, empty database "
            "(IRPM_DATABASE_URL), or add --force to drop everything in it and replace it with "
            "the backup")


def _scripts(rt: Runtime) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(_where(rt)))


def _head(rt: Runtime) -> str | None:
    return _scripts(rt).get_current_head()


def _refuse_newer(rt: Runtime, revision: str) -> None:
    scripts = _scripts(rt)
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise BackupRefused(f"it was made at schema revision {revision}, which this code does "
                            f"not know (its newest is {scripts.get_current_head()}): restore "
                            "it with the IRPM version that made it, or a newer one")


def _restore_evidence(unpacked: Path, manifest: Manifest, store: Path) -> int:
    """Copy the backup's evidence files into ``store`` (each through a temporary file, as
    uploads are); a file already there with the right content is kept. How many were
    written."""
    store.mkdir(parents=True, exist_ok=True)
    written = 0
    for digest in manifest.evidence:
        target = store / digest
        if target.is_file() and digest_of(target).sha256 == digest:
            continue
        fd, temporary = tempfile.mkstemp(dir=store, prefix=".restore-")
        os.close(fd)
        try:
            shutil.copyfile(unpacked / f"evidence/{digest}", temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written += 1
    return written


def _check_rows(rt: Runtime, manifest: Manifest) -> None:
    """The restored tables hold the rows the backup counted."""
    found = row_counts(rt.db)
    wrong = [f"{table}: {found.get(table)} rows, the backup had {count}"
             for table, count in manifest.tables.items() if found.get(table) != count]
    if wrong:
        raise BackupFailed("the restored database does not hold what the backup counted ("
                           + "; ".join(wrong[:5]) + ")")
