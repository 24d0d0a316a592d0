"""An append-only write-ahead log for a saved :class:`~docqa.document_stores.InMemoryDocumentStore`.

Saving a store rewrites its whole snapshot; the log makes each change durable with one small append instead.
Every write or delete is appended as one line (``<crc32 hex> <json>``) and fsynced before the call returns; the
log belongs to the snapshot it extends (``wal-<data folder>.jsonl``, next to ``manifest.json``), so a save that
folds the log into a new snapshot leaves the old log stale at once: loading replays only the log of the
snapshot the manifest points to. A line torn by a crash mid-append (never acknowledged) is dropped on replay;
a corrupt line before the last one is an error.

The process that attaches the log is the store's only writer: it holds an exclusive OS lock on
``writer.lock`` in the store directory (released when the log closes or the process dies, also by ``kill -9``),
and every other process's :meth:`~docqa.document_stores.InMemoryDocumentStore.save` there (``docqa index``, a
second ``docqa serve``) fails with one line naming the store and the holder instead of replacing the snapshot
under it.

>>> import tempfile
>>> from docqa import Document, InMemoryDocumentStore
>>> folder = tempfile.mkdtemp()
>>> store = InMemoryDocumentStore(path=folder)
>>> _ = store.save()
>>> log = WriteAheadLog.attach(store)
>>> store.write_documents([Document("Paris is the capital of France.")])
1
>>> InMemoryDocumentStore.load(folder).count_documents()  # replayed from the log, no save needed
1
>>> log.checkpoint(store)  # fold the log into a new snapshot (any save of the store does it too)
>>> log.size_bytes
0
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from docqa.document_stores.durable import fsync_directory, store_lock, try_lock
from docqa.errors import DocumentStoreError
from docqa.schema import Document


class LoggedStore(Protocol):
    """What the log needs of the store it extends (an InMemoryDocumentStore; named here by shape, so that this
    module does not import the store that imports it)."""

    path: str | None
    wal: WriteAheadLog | None
    embedding_model: str | None

    @property
    def snapshot(self) -> str | None: ...

    def save(self) -> Any: ...

    def write_documents(self, documents: list[Document], policy: Any = ...) -> int: ...

    def delete_documents(self, ids: list[str]) -> None: ...


WAL_PREFIX = "wal-"
WRITER_LOCK = "writer.lock"


def wal_path(directory: Path) -> Path | None:
    """The log file of the snapshot ``directory/manifest.json`` points to (None without a readable manifest)."""
    try:
        data_dir = json.loads((directory / "manifest.json").read_text("utf-8"))["data_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return directory / f"{WAL_PREFIX}{data_dir}.jsonl" if isinstance(data_dir, str) else None


class WriterLock:
    """An exclusive claim on a store directory by the one process that writes it (an OS ``flock`` on its
    ``writer.lock``, taken without waiting); ``holder`` says who holds it, for other processes' errors."""

    def __init__(self, directory: Path, holder: str) -> None:
        self.directory = directory
        self._descriptor = os.open(directory / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        if not try_lock(self._descriptor, exclusive=True):
            held_by = _holder(directory)
            os.close(self._descriptor)
            raise DocumentStoreError(_in_use(directory, held_by))
        os.ftruncate(self._descriptor, 0)
        os.write(self._descriptor, holder.encode("utf-8"))

    def holds(self, directory: Path) -> bool:
        return os.path.samefile(self.directory, directory)

    def release(self) -> None:
        os.close(self._descriptor)  # closing releases the lock


def check_writer(directory: Path, own: WriteAheadLog | None = None) -> None:
    """Raise DocumentStoreError if a process other than the owner of ``own`` holds ``directory``'s writer lock."""
    if own is not None and own.lock.holds(directory):
        return
    try:
        descriptor = os.open(directory / WRITER_LOCK, os.O_RDONLY)
    except OSError:  # no lock file: no writer ever attached a log here
        return
    try:
        free = try_lock(descriptor, exclusive=False)
    finally:
        os.close(descriptor)
    if not free:
        raise DocumentStoreError(_in_use(directory, _holder(directory)))


def _holder(directory: Path) -> str:
    try:
        text = (directory / WRITER_LOCK).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    return text.splitlines()[0] if text else "another process"


def _in_use(directory: Path, holder: str) -> str:
    return (
        f"document store '{directory}' is in use by {holder}: write to it through that process "
        "(docqa serve: POST /documents) or stop it first"
    )


class WriteAheadLog:
    """The log of a store saved at ``store.path``; :meth:`attach` opens it and makes the store append to it."""

    def __init__(self, file: Path, lock: WriterLock) -> None:
        self.file = file
        self.lock = lock
        self._descriptor = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fsync_directory(file.parent)

    @classmethod
    def attach(cls, store: LoggedStore, holder: str | None = None) -> WriteAheadLog:
        """Take the store directory's writer lock and open the log of ``store``'s current snapshot (the store
        must have been saved to, or loaded from, ``store.path``, and not saved by anyone else since)."""
        if store.path is None or wal_path(Path(store.path)) is None:
            raise DocumentStoreError("write-ahead log: the store must be saved to its path first")
        directory = Path(store.path)
        lock = WriterLock(directory, holder if holder is not None else f"process {os.getpid()}")
        with store_lock(directory, exclusive=False):  # no save half-way while the snapshot is compared
            file = wal_path(directory)
        if file is None or file.name != f"{WAL_PREFIX}{store.snapshot}.jsonl":
            lock.release()
            raise DocumentStoreError(
                f"document store '{directory}' was saved by another process after this one loaded it: load it again"
            )
        _drop_torn_tail(file)
        log = cls(file, lock)
        store.wal = log
        return log

    @property
    def size_bytes(self) -> int:
        return os.fstat(self._descriptor).st_size

    def log_write(self, documents: Sequence[Document], embedding_model: str | None) -> None:
        """Append the documents a write stored (replayed with the overwrite policy)."""
        records = [_document_record(document) for document in documents]
        self._append({"op": "write", "documents": records, "embedding_model": embedding_model})

    def log_delete(self, ids: Sequence[str]) -> None:
        self._append({"op": "delete", "ids": list(ids)})

    def _append(self, record: dict[str, Any]) -> None:
        try:
            payload = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as error:
            raise DocumentStoreError(f"cannot log the change: a document is not JSON-serializable ({error})") from None
        line = b"%08x " % zlib.crc32(payload) + payload + b"\n"
        written = os.write(self._descriptor, line)
        if written != len(line):
            raise DocumentStoreError(f"write-ahead log {self.file}: short write ({written} of {len(line)} bytes)")
        os.fsync(self._descriptor)

    def checkpoint(self, store: LoggedStore) -> None:
        """Save ``store`` as a new snapshot, which folds this log into it: the store's save starts a new, empty
        log for the new snapshot (:meth:`rotate`) before any other write can land, and removes this one."""
        store.save()  # allowed: this log holds the writer lock

    def rotate(self, directory: Path) -> None:
        """Start the (empty) log of the snapshot ``directory``'s manifest now points to; the store calls it at
        the end of a save, under its write lock, so no write falls between the snapshot and the new log."""
        file = wal_path(directory)
        assert file is not None
        old, self.file = self.file, file
        os.close(self._descriptor)
        self._descriptor = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        fsync_directory(self.file.parent)
        if old != self.file:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the log and release the writer lock."""
        os.close(self._descriptor)
        self.lock.release()


def replay(store: LoggedStore, directory: Path) -> int:
    """Apply the log of ``directory``'s snapshot to ``store`` (just loaded from it); return the records applied."""
    file = wal_path(directory)
    if file is None or not file.is_file():
        return 0
    applied = 0
    for record in read_records(file):
        _apply(store, record)
        applied += 1
    return applied


def read_records(file: Path) -> Iterator[dict[str, Any]]:
    """The records of a log; a torn last line is skipped, an earlier corrupt one raises DocumentStoreError."""
    lines = file.read_bytes().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        record = _parse(line)
        if record is None:
            if number >= len(lines) - 1:
                return  # torn by a crash during the append: never acknowledged
            raise DocumentStoreError(f"write-ahead log {file}: line {number} is corrupt")
        yield record


def _parse(line: bytes) -> dict[str, Any] | None:
    checksum, _, payload = line.partition(b" ")
    try:
        if int(checksum, 16) != zlib.crc32(payload):
            return None
        record = json.loads(payload)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("op") in ("write", "delete") else None


def _apply(store: LoggedStore, record: dict[str, Any]) -> None:
    from docqa.document_stores.base import DuplicatePolicy

    if record["op"] == "delete":
        store.delete_documents(list(record["ids"]))
        return
    if store.embedding_model is None and record.get("embedding_model") is not None:
        store.embedding_model = record["embedding_model"]
    documents = [Document.from_dict(item) for item in record["documents"]]
    store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)


def _document_record(document: Document) -> dict[str, Any]:
    embedding = document.embedding
    if embedding is not None:
        embedding = np.asarray(embedding, dtype=np.float32).astype(float).tolist()
    return {"id": document.id, "content": document.content, "meta": document.meta, "embedding": embedding}


def _drop_torn_tail(file: Path) -> None:
    """Cut a last line without its newline (a crash mid-append) so that new records start on a fresh line."""
    if not file.is_file():
        return
    data = file.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(file, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
            handle.flush()
            os.fsync(handle.fileno())
