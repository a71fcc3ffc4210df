"""A copy of the embedded SQLite database, taken while the gateway serves.

Copying the file while the gateway writes can give a database that does not
open, or one without the last certificates: the newest commits are in the
``-wal`` file beside it until a checkpoint copies them over, and a page copied
while a checkpoint writes it is torn. SQLite's online backup reads the
database, WAL included, inside one read transaction, so the copy is the
database as of one commit: every request answered OK before the backup began
is in it, nothing half-written is. Writers go on meanwhile (WAL lets them);
only the checkpoints wait to move past the copy's snapshot until it is done.

The copy is written beside its destination under a name of its own, readable
by its owner alone, checked, flushed to disk and only then linked into place,
so a backup that was interrupted never looks like one that finished, and an
existing file is never overwritten. It is a single file in rollback-journal mode: the gateway
switches it back to WAL when it opens it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from intygsgw.errors import GatewayError
from intygsgw.storage.db import SQLITE_DRIVER, SQLITE_ERRORS, connect_sqlite, sqlite_file


class BackupRefused(GatewayError, ValueError):
    """A backup this command does not take, with the reason."""


class BackupFailed(GatewayError, RuntimeError):
    """The copy was taken but did not pass its check; nothing was put in place."""


@dataclass(frozen=True)
class Backup:
    path: Path
    revision: str | None  # the schema revision the copy is at (intygsgw migrate)
    certificates: int
    size: int  # bytes
    seconds: float


def back_up_sqlite(url: str, destination: str | os.PathLike[str]) -> Backup:
    """Copy the SQLite database of ``url`` to ``destination``, a file that must not exist yet."""
    if not url.startswith("sqlite"):
        raise BackupRefused(
            "only the embedded SQLite database is copied by this command; "
            "back PostgreSQL up with its own tools (pg_dump, pg_basebackup)"
        )
    source = sqlite_file(url)
    if source is None:
        raise BackupRefused("an in-memory database has nothing to back up")
    target = Path(destination)
    try:
        if not Path(source).is_file():
            raise BackupRefused(f"there is no database at {source}")
        if target.exists() or target.is_symlink():
            raise BackupRefused(f"{target} exists; a backup is written to a new file")
        if not target.parent.is_dir():
            raise BackupRefused(f"the folder {target.parent} does not exist")
        # A name of its own, readable by the owner alone (the copy holds patient data, whatever
        # the umask says), so that two backups at once never write into one file.
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(fd)
    except OSError as exc:  # a folder that cannot be entered, ...
        raise BackupRefused(f"cannot back up {source} to {target}: {exc}") from None
    partial = Path(name)
    started = time.monotonic()
    try:
        revision, certificates = _copy(source, partial)
        _flush(partial)
        # A link fails where the name exists (a file that appeared meanwhile): never overwritten.
        os.link(partial, target)
        _flush(target.parent)
    except FileExistsError:
        raise BackupRefused(f"{target} exists; a backup is written to a new file") from None
    except (*SQLITE_ERRORS, OSError) as exc:
        # A source that is no database, a full or read-only destination, ...: said, not a traceback.
        raise BackupFailed(f"the backup of {source} to {target} failed: {exc}") from None
    finally:
        for leftover in (partial, *(Path(f"{partial}{end}") for end in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return Backup(target, revision, certificates, target.stat().st_size, time.monotonic() - started)


def _copy(source: str, partial: Path) -> tuple[str | None, int]:
    # The source is only read; its connection never writes, so the gateway's own settings stay.
    src = connect_sqlite(source, timeout=30)
    try:
        dst = connect_sqlite(partial)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            check = [row[0] for row in dst.execute("PRAGMA quick_check")]
            if check != ["ok"]:
                raise BackupFailed(f"the copy failed SQLite's check: {'; '.join(check[:5])}")
            try:
                found = dst.execute("SELECT version_num FROM alembic_version").fetchone()
                certificates = dst.execute("SELECT count(*) FROM certificate").fetchone()[0]
            except SQLITE_DRIVER.OperationalError as exc:
                raise BackupFailed(f"the copy is not a gateway database: {exc}") from None
            return (found[0] if found else None), certificates
        finally:
            dst.close()
    finally:
        src.close()


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
