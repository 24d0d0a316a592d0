"""The store's write-ahead log: appended per change, replayed on load, folded into the snapshot by a checkpoint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.document_stores.wal import WriteAheadLog, read_records, wal_path
from docqa.errors import DocumentStoreError
from docqa.schema import Document


def _saved_store(folder: Path) -> InMemoryDocumentStore:
    store = InMemoryDocumentStore(path=str(folder))
    store.write_documents([Document("base one", id="b1"), Document("base two", id="b2")])
    store.save()
    return store


def _state(store: InMemoryDocumentStore) -> dict[str, tuple[str, dict]]:
    return {doc.id: (doc.content, doc.meta) for doc in store.filter_documents()}


def test_replay_reproduces_writes_overwrites_and_deletes(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    WriteAheadLog.attach(store)
    store.write_documents([Document("new", {"k": 1}, id="n1"), Document("gone", id="g1")])
    store.write_documents([Document("base one, again", id="b1")], policy=DuplicatePolicy.OVERWRITE)
    store.write_documents([Document("skipped", id="n1")], policy=DuplicatePolicy.SKIP)
    store.delete_documents(["g1", "b2", "unknown"])
    reloaded = InMemoryDocumentStore.load(tmp_path)
    assert _state(reloaded) == _state(store)
    assert _state(reloaded) == {"b1": ("base one, again", {}), "n1": ("new", {"k": 1})}
    assert reloaded.bm25_retrieval("again", top_k=1)[0].id == "b1"  # the replayed rows are indexed


def test_replay_keeps_embeddings_exactly(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    WriteAheadLog.attach(store)
    vector = np.random.default_rng(0).standard_normal(8).astype(np.float32)
    store.embedding_model = "some-model"
    store.write_documents([Document("vec", id="v", embedding=vector)])
    reloaded = InMemoryDocumentStore.load(tmp_path)
    assert np.array_equal(reloaded.get_documents_by_id(["v"])[0].embedding, vector)
    assert reloaded.embedding_model == "some-model"


def test_failed_write_logs_nothing(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store)
    with pytest.raises(DocumentStoreError):
        store.write_documents([Document("dup", id="b1")], policy=DuplicatePolicy.FAIL)
    with pytest.raises(DocumentStoreError):
        store.write_documents([Document("bad", {"x": object()}, id="x")])
    assert log.size_bytes == 0
    assert _state(InMemoryDocumentStore.load(tmp_path)) == _state(store)


def test_checkpoint_folds_the_log_into_a_new_snapshot(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store)
    store.write_documents([Document("logged", id="l1")])
    first = log.file
    log.checkpoint(store)
    assert log.size_bytes == 0 and not first.exists() and log.file == wal_path(tmp_path)
    store.delete_documents(["b1"])
    assert [record["op"] for record in read_records(log.file)] == ["delete"]
    assert _state(InMemoryDocumentStore.load(tmp_path)) == {"b2": ("base two", {}), "l1": ("logged", {})}


def test_stale_log_of_an_older_snapshot_is_not_replayed(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store)
    store.write_documents([Document("logged", id="l1")])
    stale = log.file.read_bytes()
    log.checkpoint(store)
    store.delete_documents(["l1"])
    log.file.with_name("wal-data-old.jsonl").write_bytes(stale)  # a leftover of another snapshot
    assert "l1" not in _state(InMemoryDocumentStore.load(tmp_path))


def test_torn_last_line_is_dropped_and_appending_continues(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store)
    store.write_documents([Document("kept", id="k1")])
    log.close()
    with open(log.file, "ab") as handle:
        handle.write(b'1234abcd {"op": "write", "documents": [{"id": "torn"')  # a crash mid-append
    assert set(_state(InMemoryDocumentStore.load(tmp_path))) == {"b1", "b2", "k1"}
    again = InMemoryDocumentStore.load(tmp_path)
    WriteAheadLog.attach(again)
    again.write_documents([Document("after", id="a1")])
    assert set(_state(InMemoryDocumentStore.load(tmp_path))) == {"b1", "b2", "k1", "a1"}


def test_corrupt_line_before_the_end_is_an_error_naming_the_line(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store)
    store.write_documents([Document("one", id="o1")])
    store.write_documents([Document("two", id="o2")])
    lines = log.file.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b"one", b"0ne")  # checksum no longer matches
    log.file.write_bytes(b"\n".join(lines))
    with pytest.raises(DocumentStoreError, match="line 1 is corrupt"):
        InMemoryDocumentStore.load(tmp_path)


def test_attach_needs_a_saved_store() -> None:
    with pytest.raises(DocumentStoreError, match="saved"):
        WriteAheadLog.attach(InMemoryDocumentStore())


def test_sigkill_right_after_a_logged_write_loses_nothing(tmp_path: Path) -> None:
    _saved_store(tmp_path)
    script = textwrap.dedent(
        f"""
        import os, signal
        from docqa.document_stores.in_memory import InMemoryDocumentStore
        from docqa.document_stores.wal import WriteAheadLog
        from docqa.schema import Document
        store = InMemoryDocumentStore.load({str(tmp_path)!r})
        WriteAheadLog.attach(store)
        for i in range(20):
            store.write_documents([Document(f"doc {{i}}", id=f"d{{i}}")])
        store.delete_documents(["d3"])
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -9
    ids = set(_state(InMemoryDocumentStore.load(tmp_path)))
    assert ids == {"b1", "b2"} | {f"d{i}" for i in range(20) if i != 3}


def test_attached_log_makes_its_process_the_only_writer(tmp_path: Path) -> None:
    store = _saved_store(tmp_path)
    log = WriteAheadLog.attach(store, holder="docqa serve (pid 1)")
    store.write_documents([Document("logged", id="l1")])
    log.checkpoint(store)  # the holder itself may save
    other = InMemoryDocumentStore.load(tmp_path)
    with pytest.raises(DocumentStoreError, match=r"in use by docqa serve \(pid 1\)"):
        other.save()
    with pytest.raises(DocumentStoreError, match="in use by docqa serve"):
        WriteAheadLog.attach(InMemoryDocumentStore.load(tmp_path))
    log.close()
    other.save()  # released


def test_attach_refuses_a_store_saved_by_another_process_since_loading(tmp_path: Path) -> None:
    _saved_store(tmp_path)
    stale = InMemoryDocumentStore.load(tmp_path)
    newer = InMemoryDocumentStore.load(tmp_path)
    newer.write_documents([Document("newer", id="n1")])
    newer.save()
    with pytest.raises(DocumentStoreError, match="saved by another process"):
        WriteAheadLog.attach(stale)
    WriteAheadLog.attach(newer).close()  # the lock was released by the refused attach
