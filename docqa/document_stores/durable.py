"""Durable files for saved stores: OS locks on a directory, fsync, atomic replacement of a file.

Everything that makes a save survive a crash or share a directory with other processes lives here, used by the
store's persistence (:mod:`docqa.document_stores.persistence`) and its write-ahead log
(:mod:`docqa.document_stores.wal`) alike.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> with store_lock(folder, exclusive=True):
...     write_atomically(folder / "note.txt", b"saved")
>>> (folder / "note.txt").read_bytes()
b'saved'
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docqa.errors import DocumentStoreError


@contextmanager
def store_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an OS advisory lock (``flock``) on the store directory: exclusive to save, shared to load.

    The lock belongs to the open descriptor, so a killed process releases it. Where directories cannot be
    opened or ``fcntl`` does not exist (Windows), there is no lock: saves stay atomic, not serialized.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError as error:
        raise DocumentStoreError(f"cannot lock document store '{directory}': {error.strerror or error}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def try_lock(descriptor: int, *, exclusive: bool) -> bool:
    """Take an flock without waiting; False if another open file holds a conflicting one (no fcntl: True)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return True
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sync(handle: Any) -> None:
    """Flush a file object and fsync it."""
    handle.flush()
    os.fsync(handle.fileno())


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms where directories cannot be opened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_atomically(target: Path, payload: bytes) -> None:
    """Replace ``target`` with ``payload`` so that a crash leaves either the old or the new file, never a mix."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            sync(handle)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(target.parent)
