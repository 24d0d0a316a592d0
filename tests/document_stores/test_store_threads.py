"""One store shared by threads: readers never see a write or a delete half-applied, and never fail beside them."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from docqa.document_stores import InMemoryDocumentStore
from docqa.schema import Document

BATCH = 7


def batch(number: int) -> list[Document]:
    return [
        Document(f"marker batch{number} passage {i}", meta={"batch": number}, id=f"b{number}-{i}") for i in range(BATCH)
    ]


@pytest.fixture
def fast_switching():
    """Switch threads every microsecond, so that a reader lands inside a write far more often."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_readers_see_whole_writes_and_deletes_only(fast_switching, tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    store.write_documents(batch(0))
    store.save()
    stop = threading.Event()
    problems: list[str] = []

    def writer() -> None:
        for number in range(1, 120):
            store.write_documents(batch(number))
            if number % 3 == 0:
                store.delete_documents([doc.id for doc in batch(number - 2)])
            if number % 40 == 0:
                store.save()  # readers go on while it writes and swaps in the saved segments
        stop.set()

    def reader() -> None:
        try:
            while not stop.is_set():
                found = store.bm25_retrieval("marker", top_k=100_000)
                counted = store.count_documents()
                listed = store.filter_documents({"field": "meta.batch", "operator": ">=", "value": 0})
                for documents in (found, listed):
                    batches = [doc.meta["batch"] for doc in documents]
                    if any(batches.count(number) != BATCH for number in set(batches)):
                        problems.append(f"a batch seen in part: {sorted(batches)}")
                if counted % BATCH:
                    problems.append(f"count {counted} is not whole batches")
        except Exception as error:  # any failure beside a write is a defect
            problems.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not problems, problems[:3]
    assert store.count_documents() == BATCH * (120 - 39)  # batches 0-119, less the 39 deleted
    assert InMemoryDocumentStore.load(tmp_path / "store").count_documents() == BATCH * (81 - 26)  # as saved at 80


def test_concurrent_writers_are_serialized() -> None:
    store = InMemoryDocumentStore()

    def write(offset: int) -> None:
        for number in range(offset, offset + 40):
            store.write_documents(batch(number))

    threads = [threading.Thread(target=write, args=(offset,)) for offset in (0, 1000, 2000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert store.count_documents() == 3 * 40 * BATCH
    assert len({doc.id for doc in store.filter_documents()}) == 3 * 40 * BATCH
