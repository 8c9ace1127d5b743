"""Backup archives: a consistent database copy and every photo file it references, in one tar file.

Layout (an uncompressed POSIX tar; the photos are compressed already)::

    database.sqlite3       the database copy (database.json for PostgreSQL), see _backup
    photos/<sha256>.png    one file per distinct photo the copy references (.jpg for JPEG)
    manifest.json          {"format": "rhytid-backup", "version": 1, "database": <member name>,
                            "photos": <count>, "missing": [{"id", "file", "problem"}, ...]}

:func:`backup` takes the database snapshot first, then copies the files its photo rows name, each
checked against the row's sha256. A missing or corrupt file fails the backup, naming every such
file, unless ``allow_missing`` is set: then it is left out, listed in the manifest and returned.
The archive is written under a temporary name and renamed into place, so a failed backup leaves
nothing under the target's name.

:func:`restore` checks the whole archive before it changes anything: only known members, every
photo's bytes hash to its name and to the sha256 of the rows that reference it, every referenced
photo present (or listed as missing by the backup). It stages the photos in the photo folder,
loads the database copy (all or nothing), then moves the photos into place; if loading fails the
staged files are deleted, so a failed restore changes nothing. Other files in the folder are kept.
A file that is not a tar archive is a database-only backup of older versions: it restores the
database alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from rhytid.store._backup import database_member, dump_database, load_database, photo_rows
from rhytid.store._errors import StoreError
from rhytid.store._photos import FILE_NAME, MAX_PHOTO_BYTES, Staged, read_checked, write_staged

__all__ = ["BackupResult", "Missing", "backup", "restore"]

FORMAT, VERSION, MANIFEST = "rhytid-backup", 1, "manifest.json"
_RENAME_WAIT_S = 2.0  # a photo committed just before the snapshot is renamed into place just after


@dataclass(frozen=True)
class Missing:
    """A photo row whose file could not be backed up."""

    photo_id: int
    file: str
    problem: str

    def __str__(self) -> str:
        return f"photos/{self.file} (photo {self.photo_id}): {self.problem}"


@dataclass(frozen=True)
class BackupResult:
    """What a backup holds or a restore put back: photo files, and photos the backup lacked."""

    photos: int
    missing: tuple[Missing, ...] = ()
    database_only: bool = False


def backup(engine: Engine, target: Path, photo_dir: Path, *, allow_missing: bool = False) -> BackupResult:
    """Write the archive of the database and its photos to ``target`` (see the module doc)."""
    if target.is_dir():
        raise StoreError(f"target: {str(target)!r} is a folder; name a file to write")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".rhytid-backup-", dir=target.parent) as tmp:
            member = database_member(engine.dialect.name)
            copy = Path(tmp) / member
            dump_database(engine, copy)
            rows = photo_rows(copy, engine.dialect.name, "the database copy")
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(copy, arcname=member, recursive=False)
                count, missing = _add_photos(tar, rows, photo_dir)
                if missing and not allow_missing:
                    raise StoreError(
                        f"photos: {len(missing)} missing or corrupt, so no backup was written: "
                        + "; ".join(map(str, missing))
                        + " (--allow-missing-photos writes the backup without them)"
                    )
                manifest = {
                    "format": FORMAT,
                    "version": VERSION,
                    "database": member,
                    "photos": count,
                    "missing": [{"id": m.photo_id, "file": m.file, "problem": m.problem} for m in missing],
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        partial.replace(target)
    except OSError as exc:
        raise StoreError(f"target: cannot write {str(target)!r} ({exc.strerror or exc})") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(count, tuple(missing))


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(content), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(content))


def _add_photos(
    tar: tarfile.TarFile, rows: list[tuple[int, str, str]], folder: Path
) -> tuple[int, list[Missing]]:
    wait_until = time.monotonic() + _RENAME_WAIT_S
    done: set[str] = set()
    missing: list[Missing] = []
    for photo_id, name, sha256 in rows:
        if name in done:
            continue
        if not FILE_NAME.fullmatch(name) or not name.startswith(sha256):
            missing.append(Missing(photo_id, name, "stored name does not match its sha256"))
            continue
        content = read_checked(folder / name, sha256, wait_until=wait_until)
        if isinstance(content, str):
            missing.append(Missing(photo_id, name, content))
            continue
        _add_bytes(tar, f"photos/{name}", content)
        done.add(name)
    return len(done), missing


def restore(engine: Engine, source: Path, photo_dir: Path) -> BackupResult:
    """Put the database and the photos of a backup back (all or nothing; see the module doc)."""
    if not source.is_file():
        raise StoreError(f"backup: no file {str(source)!r}")
    if not _is_archive(source):
        load_database(engine, source)
        return BackupResult(0, database_only=True)
    label = repr(str(source))
    staged: list[Staged] = []
    try:
        with tempfile.TemporaryDirectory(prefix=".rhytid-restore-") as tmp:
            copy = Path(tmp) / database_member(engine.dialect.name)
            try:
                missing = _unpack(source, label, engine.dialect.name, copy, photo_dir, staged)
            except StoreError:
                raise
            except (tarfile.TarError, EOFError, ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"backup: {label} is not a readable Rhytid backup archive ({exc})") from None
            load_database(engine, copy, f"{label} ({copy.name})")
        for item in staged:
            item.publish()
        count, staged = len(staged), []
    finally:
        for item in staged:
            item.discard()
    return BackupResult(count, missing)


def _is_archive(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(262)[257:262] == b"ustar"


def _unpack(
    source: Path, label: str, dialect: str, copy: Path, photo_dir: Path, staged: list[Staged]
) -> tuple[Missing, ...]:
    """Check the archive, write its database copy to ``copy`` and stage its photos in ``staged``."""
    with tarfile.open(source, "r:") as tar:
        members = _members(tar, label)
        manifest = _manifest(tar, members, label)
        if manifest["database"] != copy.name:
            raise StoreError(
                f"backup: {label} holds a {manifest['database']} copy; this database needs {copy.name}"
            )
        with copy.open("wb") as out:
            shutil.copyfileobj(_open(tar, members[copy.name]), out)
        rows = photo_rows(copy, dialect, f"{label} ({copy.name})")
        missing = tuple(Missing(int(m["id"]), str(m["file"]), str(m["problem"])) for m in manifest["missing"])
        for name, content in _checked_photos(tar, members, rows, missing, label):
            staged.append(_stage(photo_dir, name, content))
    return missing


def _members(tar: tarfile.TarFile, label: str) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for info in tar.getmembers():
        known = info.name in (MANIFEST, database_member("sqlite"), database_member("postgresql")) or (
            info.name.startswith("photos/") and FILE_NAME.fullmatch(info.name.removeprefix("photos/"))
        )
        if not known or not info.isreg() or info.name in members:
            raise StoreError(f"backup: {label} has an unexpected member {info.name!r}; nothing changed")
        if info.name.startswith("photos/") and info.size > MAX_PHOTO_BYTES:
            raise StoreError(f"backup: {label}: {info.name} is larger than any photo; nothing changed")
        members[info.name] = info
    return members


def _open(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    f = tar.extractfile(info)
    assert f is not None  # a regular file (checked by _members)
    return f


def _manifest(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], label: str) -> dict[str, Any]:
    if MANIFEST not in members:
        raise StoreError(f"backup: {label} has no {MANIFEST}; it is not a Rhytid backup archive")
    data = json.loads(_open(tar, members[MANIFEST]).read())
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"backup: {label} is not a Rhytid backup archive ({MANIFEST} has no format)")
    if data.get("version") != VERSION:
        raise StoreError(
            f"backup: {label} has archive version {data.get('version')!r}; this Rhytid reads {VERSION}"
        )
    if data.get("database") not in members or not isinstance(data.get("missing"), list):
        raise StoreError(f"backup: {label}: {MANIFEST} does not match the archive's members")
    return data


def _checked_photos(
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    rows: list[tuple[int, str, str]],
    missing: tuple[Missing, ...],
    label: str,
) -> Iterator[tuple[str, bytes]]:
    """The archive's photos, each checked against its name and the rows that reference it."""
    expected: dict[str, set[str]] = {}
    for _, name, sha256 in rows:
        expected.setdefault(name, set()).add(sha256)
    listed = {m.file for m in missing}
    for photo_id, name, _ in rows:
        if f"photos/{name}" not in members and name not in listed:
            raise StoreError(f"backup: {label}: photos/{name} (photo {photo_id}) is missing; nothing changed")
    for key in (k for k in members if k.startswith("photos/")):
        name = key.removeprefix("photos/")
        content = _open(tar, members[key]).read()
        digest = hashlib.sha256(content).hexdigest()
        if not name.startswith(digest) or expected.get(name, {digest}) != {digest}:
            raise StoreError(f"backup: {label}: {key} does not match its sha256 checksum; nothing changed")
        if name not in expected:
            raise StoreError(
                f"backup: {label}: {key} belongs to no photo of the database copy; nothing changed"
            )
        yield name, content


def _stage(folder: Path, name: str, content: bytes) -> Staged:
    try:
        return write_staged(folder, name, content)
    except OSError as exc:
        raise StoreError(
            f"data_dir: cannot write the photos to {str(folder)!r} ({exc.strerror}); nothing changed"
        ) from None
