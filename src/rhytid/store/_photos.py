"""Photo files: one file per distinct photo, named by its SHA-256, in the clinic's photo folder.

A file appears under its final name only when the database commits the row that references it.
:func:`stage` writes the bytes under a hidden temporary name in the same folder
(``.<name>.<random>.part``) and remembers it in the session. When the session commits, every file
staged in it is renamed into place (atomic; an identical file already there is replaced by the same
bytes). When its transaction ends any other way (rollback, an error, closing the session), or the
savepoint it was staged in is rolled back, the staged file is deleted. So a failed request leaves
no file behind, and it never touches a file that committed rows reference.

The rename follows the commit by microseconds; a reader that sees the new row in that window may
not find the file yet (:func:`read_checked` can wait for it). A process that dies between staging
and the end of its transaction leaves its ``.part`` file behind: :func:`sweep_stale` (run when the
clinic app starts) deletes those older than a day, long after any transaction that wrote them.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

__all__ = [
    "FILE_NAME",
    "MAX_PHOTO_BYTES",
    "PHOTO_TYPES",
    "Staged",
    "file_name",
    "read_checked",
    "stage",
    "sweep_stale",
    "write_staged",
]

#: The photo types accepted, with the first bytes their content must start with.
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
#: The name of a stored photo file: its SHA-256 and the suffix of its type.
FILE_NAME = re.compile(r"[0-9a-f]{64}\.(?:jpg|png)")
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}
_KEY = "rhytid_staged_photos"
_STAGED = re.compile(r"\.[0-9a-f]{64}\.(?:jpg|png)\.[0-9a-f]{12}\.part")
STALE_AFTER_S = 24 * 3600.0


def file_name(digest: str, content_type: str) -> str:
    """The stored name of a photo with SHA-256 ``digest`` (hex) and a JPEG or PNG content type."""
    return f"{digest}{_SUFFIX[content_type]}"


@dataclass(frozen=True)
class Staged:
    """A file written under a temporary name, to be moved to ``final`` or deleted."""

    temporary: Path
    final: Path

    def publish(self) -> None:
        os.replace(self.temporary, self.final)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def write_staged(folder: Path, name: str, content: bytes) -> Staged:
    """Write ``content`` under a hidden temporary name in ``folder`` (created if needed)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / f".{name}.{uuid.uuid4().hex[:12]}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # readable by the app only
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return Staged(temporary, folder / name)


def sweep_stale(folder: Path, *, older_than_s: float = STALE_AFTER_S, now: float | None = None) -> int:
    """Delete staged photo files (``.<sha256>.<ext>.<random>.part``) not modified for
    ``older_than_s`` seconds; other files are never touched. Returns how many were deleted."""
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than_s
    removed = 0
    for path in folder.iterdir():
        if _STAGED.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def stage(db: Session, folder: Path, name: str, content: bytes) -> None:
    """Write a file that appears as ``folder / name`` when ``db`` commits (see the module doc)."""
    transaction = db.get_nested_transaction() or db.get_transaction()
    db.info.setdefault(_KEY, []).append((transaction, write_staged(folder, name, content)))


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: its files wait for the outer commit
        return
    staged = session.info.pop(_KEY, [])
    for _, item in staged:
        item.publish()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    staged = session.info.get(_KEY, [])
    for entry in [e for e in staged if _within(e[0], previous_transaction)]:
        entry[1].discard()
        staged.remove(entry)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's transaction ended without a commit
        for _, item in session.info.pop(_KEY, []):
            item.discard()


def read_checked(path: Path, sha256: str, *, wait_until: float = 0.0) -> bytes | str:
    """The bytes of ``path`` if they hash to ``sha256``; else what is wrong, in a few words.

    A missing file is looked for again until ``wait_until`` (a :func:`time.monotonic` time): a row
    committed a moment ago has its file renamed into place just after the commit.
    """
    while True:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            if time.monotonic() < wait_until:
                time.sleep(0.02)
                continue
            return "file missing"
        except OSError as exc:
            return f"file unreadable ({exc.strerror})"
        if hashlib.sha256(content).hexdigest() != sha256:
            return "file does not match its sha256 checksum"
        return content
