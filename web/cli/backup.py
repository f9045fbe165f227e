"""``irpm backup FILE`` and ``irpm restore FILE`` — the database and the evidence files as
one archive, and back (``engine.services.backup``). Registered on ``irpm`` by
web/cli/__init__.py.

The database is IRPM_DATABASE_URL; the evidence files are in IRPM_EVIDENCE_DIR (the web
app's setting, read by web.config); PostgreSQL's tools are found as IRPM_PG_BIN_DIR says.
Both commands are written to the audit log under ``--by`` (default: IRPM_USER, else
``shell:<login>``).
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path

import click

from engine.services import backup as backup_service

from .. import config as web_config
from .state import State


def _shell_user() -> str:
    try:
        return f"shell:{getpass.getuser()}"
    except (OSError, KeyError):
        return "shell"


def _said_here() -> None:
    """The command prints what the service logs (logger ``irpm.backup``): without a logging
    set-up, Python's last-resort handler would print its warnings to stderr a second time.
    A configured logging set-up still receives every record."""
    logger = logging.getLogger("irpm.backup")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _evidence_store() -> Path:
    return Path({**web_config.defaults(), **web_config.from_env()}["IRPM_EVIDENCE_DIR"])


by_option = click.option("--by", envvar="IRPM_USER", default=_shell_user,
                         help="Who acts, for the audit log (default: IRPM_USER, else "
                              "shell:<login>).")
reason_option = click.option("--reason", help="Why, for the audit log.")
archive_path = click.Path(dir_okay=False, path_type=Path)


@click.command("backup")
@click.argument("file", type=archive_path)
@by_option
@reason_option
@click.pass_obj
def backup(state: State, file: Path, by: str, reason: str | None) -> None:
    """Write the database and its evidence files to FILE (a new .tar.gz), consistent while
    the app runs (audited)."""
    _said_here()
    done = backup_service.create_backup(state.rt, file, evidence_store=_evidence_store(),
                                        actor=by, reason=reason)
    manifest = done.manifest
    missing = (f"\nwarning: {len(manifest.evidence_missing)} evidence file(s) the database "
               f"refers to are missing or damaged in the store: "
               f"{', '.join(manifest.evidence_missing)}" if manifest.evidence_missing else "")
    unaudited = ("" if done.audited else "\nwarning: the database's schema is older than "
                 "this code, so its audit log does not hold this backup (the log irpm.backup "
                 "does); `irpm db upgrade` it")
    state.say({"file": str(file), "database": manifest.database,
               "revision": manifest.revision, "tables": manifest.tables,
               "evidence_files": len(manifest.evidence),
               "evidence_missing": manifest.evidence_missing, "bytes": done.archive.size,
               "sha256": done.archive.sha256, "audited": done.audited},
              f"backup written to {file}: {manifest.database} database at revision "
              f"{manifest.revision}, {sum(manifest.tables.values())} rows in "
              f"{len(manifest.tables)} tables, {len(manifest.evidence)} evidence file(s); "
              f"{done.archive.size} bytes, sha256 {done.archive.sha256}{missing}{unaudited}")


@click.command("restore")
@click.argument("file", type=archive_path)
@click.option("--force", is_flag=True,
              help="Restore even into a database that is not empty: everything in it is "
                   "dropped and replaced by the backup (on PostgreSQL the schema is dropped "
                   "and created again), in one transaction.")
@by_option
@reason_option
@click.pass_obj
def restore(state: State, file: Path, force: bool, by: str, reason: str | None) -> None:
    """Restore the backup FILE into IRPM_DATABASE_URL (an empty database, unless --force)
    and its evidence files into IRPM_EVIDENCE_DIR; then migrate to the newest schema.
    Stop the app and the scheduler first (audited)."""
    _said_here()
    done = backup_service.restore_backup(state.rt, file, evidence_store=_evidence_store(),
                                         actor=by, reason=reason, force=force)
    manifest = done.manifest
    replaced = (f"; replaced what the database held ({len(done.replaced)} tables and other "
                "objects)" if done.replaced else "")
    migrated = (f", migrated to {done.revision}" if done.revision != manifest.revision
                else "")
    state.say({"file": str(file), "created_at": manifest.created_at.isoformat(),
               "database": manifest.database, "backup_revision": manifest.revision,
               "revision": done.revision, "tables": manifest.tables,
               "evidence_files": len(manifest.evidence),
               "evidence_written": done.evidence_written, "replaced": done.replaced},
              f"restored {file} (made {manifest.created_at.isoformat()} by "
              f"{manifest.created_by}, revision {manifest.revision}{migrated}): "
              f"{sum(manifest.tables.values())} rows in {len(manifest.tables)} tables, "
              f"{len(manifest.evidence)} evidence file(s), {done.evidence_written} written"
              f"{replaced}")
