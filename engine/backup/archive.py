"""The backup archive: one gzip-compressed tar holding ``manifest.json``, the database's
dump and the evidence files, each listed in the manifest with its SHA-256 and size.

The manifest comes first, so a reader knows what to expect before it reads a byte of data;
every other member must be listed in it, with the listed digest, and every listed file must
be there — a damaged, truncated or altered archive is refused before anything is restored.
Member names are fixed (``database/irpm.sqlite3`` or ``database/irpm.pgdump``,
``evidence/<sha256>``), so nothing in an archive can name a path of its choosing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from . import BackupRefused

__all__ = ["DATABASE_MEMBERS", "FORMAT", "VERSION", "FileEntry", "Manifest", "digest_of",
           "evidence_members", "is_digest", "read_archive", "write_archive"]

FORMAT = "irpm-backup"
#: The archive's layout; a reader refuses a newer one (``Manifest.from_json``).
VERSION = 1
MANIFEST = "manifest.json"
#: Where each kind of database's dump lives in the archive.
DATABASE_MEMBERS = {"sqlite": "database/irpm.sqlite3", "postgresql": "database/irpm.pgdump"}
EVIDENCE_PREFIX = "evidence/"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
#: The largest manifest read (a city's evidence list is a few MB at most).
_MAX_MANIFEST = 64 << 20



class ArchiveRefused(BackupRefused):
    """The archive cannot be restored: damaged, altered, or of another format; the message
    completes "the backup <file> is refused: …"."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """What a backup holds and where it came from."""

    created_at: datetime
    created_by: str
    #: ``sqlite`` or ``postgresql``.
    database: str
    #: The Alembic revision of the database when it was dumped.
    revision: str
    #: Rows per table in the dump, checked again after a restore.
    tables: dict[str, int]
    #: Every member but the manifest: name → digest and size.
    files: dict[str, FileEntry] = field(default_factory=dict)
    #: Evidence the database refers to whose file was missing from the store.
    evidence_missing: list[str] = field(default_factory=list)

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.database]

    @property
    def evidence(self) -> list[str]:
        return sorted(n.removeprefix(EVIDENCE_PREFIX) for n in self.files
                      if n.startswith(EVIDENCE_PREFIX))

    def to_json(self) -> bytes:
        body = {"format": FORMAT, "version": VERSION, **asdict(self),
                "created_at": self.created_at.isoformat()}
        return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArchiveRefused(f"its manifest is not valid JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ArchiveRefused(f"it is not an IRPM backup (no '{FORMAT}' manifest)")
        if not isinstance(body.get("version"), int) or body["version"] > VERSION:
            raise ArchiveRefused(f"it was made by a newer IRPM (archive format "
                                 f"{body.get('version')}; this one reads format {VERSION})")
        try:
            manifest = cls(
                created_at=datetime.fromisoformat(body["created_at"]),
                created_by=str(body["created_by"]), database=str(body["database"]),
                revision=str(body["revision"]),
                tables={str(t): int(n) for t, n in body["tables"].items()},
                files={str(name): FileEntry(str(f["sha256"]), int(f["size"]))
                       for name, f in body["files"].items()},
                evidence_missing=[str(d) for d in body.get("evidence_missing", [])])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArchiveRefused(f"its manifest is incomplete or malformed ({exc!r})") from None
        if manifest.database not in DATABASE_MEMBERS:
            raise ArchiveRefused(f"its manifest names an unknown database kind "
                                 f"'{manifest.database}'")
        bad = [n for n in manifest.files if n != manifest.database_member
               and not (n.startswith(EVIDENCE_PREFIX) and is_digest(n[len(EVIDENCE_PREFIX):]))]
        if bad or manifest.database_member not in manifest.files:
            raise ArchiveRefused("its manifest lists unexpected files "
                                 f"({', '.join(bad) or 'no database dump'})")
        return manifest


def is_digest(name: str) -> bool:
    """Whether ``name`` is a SHA-256 in hex, as evidence files are named."""
    return bool(_DIGEST.match(name))


def digest_of(path: Path) -> FileEntry:
    with path.open("rb") as source:
        return _hashed_copy(source, None)


def _hashed_copy(source: IO[bytes], out: IO[bytes] | None) -> FileEntry:
    """Read ``source`` to its end in chunks (writing each to ``out``, if given): its SHA-256
    and size, without holding a whole file in memory."""
    sha = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return FileEntry(sha.hexdigest(), size)


def write_archive(target: Path, manifest: Manifest, members: Mapping[str, Path]) -> Manifest:
    """Write ``members`` (archive name → file) under ``manifest`` (its ``files`` filled in
    here) as ``target``: through a temporary file beside it, so a failed or interrupted
    backup never leaves half an archive under the name. The manifest as written."""
    files = {name: digest_of(path) for name, path in members.items()}
    # An evidence file whose content is not what its name says is damaged in the store: it
    # is left out (and listed as missing) rather than carried into the backup.
    damaged = [name.removeprefix(EVIDENCE_PREFIX) for name, entry in files.items()
               if name.startswith(EVIDENCE_PREFIX)
               and entry.sha256 != name.removeprefix(EVIDENCE_PREFIX)]
    for digest in damaged:
        del files[f"{EVIDENCE_PREFIX}{digest}"]
    manifest = replace(manifest, files=files,
                       evidence_missing=sorted({*manifest.evidence_missing, *damaged}))
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as raw, \
                tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            _add_bytes(tar, MANIFEST, manifest.to_json())
            for name in files:
                path = members[name]
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = files[name].size, 0, 0o600
                with path.open("rb") as source:
                    tar.addfile(info, source)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o600
    tar.addfile(info, io.BytesIO(data))


def read_archive(source: Path, into: Path) -> Manifest:
    """Check the archive ``source`` whole and unpack its files under ``into`` (a directory
    of the caller's, under the members' names); its manifest. ``ArchiveRefused`` says what
    is wrong — nothing outside ``into`` is written either way."""
    if not source.is_file():
        raise ArchiveRefused(f"{source} is not a file")
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            return _unpack(tar, into)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, tarfile.TarError) \
                and exc.errno is not None:
            raise
        raise ArchiveRefused(f"the archive is damaged or not a backup ({exc})") from None


def _unpack(tar: tarfile.TarFile, into: Path) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() \
            or first.size > _MAX_MANIFEST:
        raise ArchiveRefused(f"it does not start with {MANIFEST}")
    manifest = Manifest.from_json(_read_all(tar, first))
    seen: set[str] = set()
    while (member := tar.next()) is not None:
        expected = manifest.files.get(member.name)
        if expected is None or not member.isfile() or member.name in seen:
            raise ArchiveRefused(f"it holds '{member.name}', which its manifest does not list")
        if member.size != expected.size:  # before a byte is unpacked
            raise ArchiveRefused(f"'{member.name}' has {member.size} bytes where its manifest "
                                 f"says {expected.size}")
        found = _extract(tar, member, into / member.name)
        if found != expected:
            raise ArchiveRefused(f"'{member.name}' does not match its checksum in the "
                                 f"manifest (SHA-256 {found.sha256[:12]}…, {found.size} bytes;"
                                 f" expected {expected.sha256[:12]}…, {expected.size} bytes)")
        if member.name.startswith(EVIDENCE_PREFIX) and \
                member.name.removeprefix(EVIDENCE_PREFIX) != found.sha256:
            raise ArchiveRefused(f"evidence file '{member.name}' is not named by its SHA-256")
        seen.add(member.name)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise ArchiveRefused(f"it lacks {len(missing)} file(s) its manifest lists "
                             f"({', '.join(missing[:5])})")
    return manifest


def _read_all(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    return stream.read()


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> FileEntry:
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        return _hashed_copy(stream, out)


def evidence_members(store: Path, digests: Iterable[str]) -> dict[str, Path]:
    """The evidence files of ``digests`` in ``store``, by archive member name."""
    return {f"{EVIDENCE_PREFIX}{digest}": store / digest for digest in digests}
