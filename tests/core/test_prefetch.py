"""Overlapping stages: the prefetching worker thread and the one-behind pipeline, with real threads and timing-free
checks (events and recorded orders, never sleeps measured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from docqa.core.prefetch import one_behind, prefetched


def _workers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "docqa-prefetch"]


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_items_arrive_in_order_from_the_worker(depth: int) -> None:
    made_by: list[str] = []

    def produce() -> Iterator[int]:
        for item in range(50):
            made_by.append(threading.current_thread().name)
            yield item

    assert list(prefetched(produce(), depth)) == list(range(50))
    assert set(made_by) == ({"docqa-prefetch"} if depth else {threading.current_thread().name})
    assert not _workers()


def test_the_worker_runs_ahead_of_the_consumer() -> None:
    second_made = threading.Event()

    def produce() -> Iterator[int]:
        yield 0
        yield 1
        second_made.set()

    items = prefetched(produce(), depth=2)
    assert next(items) == 0
    # item 1 is made while the consumer still holds item 0: the wait returns without another next()
    assert second_made.wait(timeout=30)
    assert list(items) == [1]


def test_an_error_in_the_worker_arrives_after_the_items_made_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad chunk 3")

    received = []
    with pytest.raises(ValueError, match="bad chunk 3"):
        for item in prefetched(produce(), depth=4):
            received.append(item)
    assert received == [1, 2]
    assert not _workers()


def test_a_consumer_that_stops_early_stops_the_worker() -> None:
    made = []

    def produce() -> Iterator[int]:
        for item in range(10_000):
            made.append(item)
            yield item

    for item in prefetched(produce(), depth=2):
        if item == 3:
            break
    assert not _workers()  # joined when the generator closed
    assert len(made) <= 3 + 1 + 2 + 1  # what was consumed, the queue's depth, the item in the making


def test_one_behind_finishes_each_item_after_starting_the_next() -> None:
    events: list[str] = []

    def start(item: int) -> int:
        events.append(f"start {item}")
        return item

    def finish(item: int) -> int:
        events.append(f"finish {item}")
        return item * 2

    assert list(one_behind(iter(range(3)), start, finish)) == [0, 2, 4]
    assert events == ["start 0", "start 1", "finish 0", "start 2", "finish 1", "finish 2"]
    assert list(one_behind(iter([]), start, finish)) == []
