"""Backup and restore of a whole IRPM installation: the database and the evidence files.

``archive`` is the file format (a tar with a checksummed manifest), ``databases`` dumps and
loads each kind of database; ``engine.services.backup`` is the use case that the ``irpm
backup`` / ``irpm restore`` commands call.
"""

from __future__ import annotations

from ..errors import IrpmError

__all__ = ["BackupFailed", "BackupRefused"]


class BackupRefused(IrpmError):
    """Refused before anything changed: a damaged or altered archive, a backup of another
    kind or a newer schema, a target database that is not empty."""

    code = "backup_refused"


class BackupFailed(IrpmError):
    """A tool or the database failed while dumping or loading (its message included)."""

    code = "backup_failed"
