"""An append-only write-ahead log for a saved :class:`~docqa.document_stores.InMemoryDocumentStore`.

Saving a store rewrites its whole snapshot; the log makes each change durable with one small append instead.
Every write or delete is appended as one line (``<crc32 hex> <json>``) and fsynced before the call returns; the
log belongs to the snapshot it extends (``wal-<data folder>.jsonl``, next to ``manifest.json``), so a save that
folds the log into a new snapshot leaves the old log stale at once: loading replays only the log of the
snapshot the manifest points to. A line torn by a crash mid-append (never acknowledged) is dropped on replay;
a corrupt line before the last one is an error.

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
>>> log.checkpoint(store)  # fold the log into a new snapshot
>>> log.size_bytes
0
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from docqa.errors import DocumentStoreError
from docqa.schema import Document

if TYPE_CHECKING:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

WAL_PREFIX = "wal-"


def wal_path(directory: Path) -> Path | None:
    """The log file of the snapshot ``directory/manifest.json`` points to (None without a readable manifest)."""
    try:
        data_dir = json.loads((directory / "manifest.json").read_text("utf-8"))["data_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return directory / f"{WAL_PREFIX}{data_dir}.jsonl" if isinstance(data_dir, str) else None


class WriteAheadLog:
    """The log of a store saved at ``store.path``; :meth:`attach` opens it and makes the store append to it."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._descriptor = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fsync_directory(file.parent)

    @classmethod
    def attach(cls, store: InMemoryDocumentStore) -> WriteAheadLog:
        """Open the log of ``store``'s current snapshot (the store must have been saved to ``store.path``)."""
        if store.path is None or (file := wal_path(Path(store.path))) is None:
            raise DocumentStoreError("write-ahead log: the store must be saved to its path first")
        _drop_torn_tail(file)
        log = cls(file)
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

    def checkpoint(self, store: InMemoryDocumentStore) -> None:
        """Save ``store`` as a new snapshot and start a new, empty log for it; the old log is removed.

        The caller must keep writes out meanwhile (the server holds its write lock)."""
        store.wal = None
        store.save()
        old, self.file = self.file, wal_path(Path(str(store.path)))  # type: ignore[assignment]
        os.close(self._descriptor)
        self._descriptor = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        fsync_directory(self.file.parent)
        if old != self.file:
            old.unlink(missing_ok=True)
        store.wal = self

    def close(self) -> None:
        os.close(self._descriptor)


def replay(store: InMemoryDocumentStore, directory: Path) -> int:
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


def _apply(store: InMemoryDocumentStore, record: dict[str, Any]) -> None:
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
