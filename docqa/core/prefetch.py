"""Running a producer ahead of its consumer on a worker thread, so that preparing item k+1 overlaps using item k.

>>> list(prefetched(iter(range(5)), depth=2))
[0, 1, 2, 3, 4]
>>> list(prefetched(iter("abc"), depth=0))  # depth 0: no thread, the items are made on demand
['a', 'b', 'c']

Items arrive in the producer's order. An exception raised by the producer is raised again in the consumer, at
the position where the next item would have come (the items made before it are delivered first). When the
consumer stops early (``break``, an exception, the generator closed), the worker stops after the item it is
making. The producer's own work must release the GIL to overlap anything (tokenizers, numpy, torch do).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, made by a worker thread up to ``depth`` items ahead of the consumer (``depth=0``: in the
    consumer's thread, as a plain iteration)."""
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(items, ready, stop), name="docqa-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        _drain(ready)
        worker.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _produce(items: Iterator[object], ready: queue.Queue[object], stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(ready, item, stop):
                return
    except BaseException as error:  # handed to the consumer, raised there
        _put(ready, _Failure(error), stop)
        return
    _put(ready, _DONE, stop)


def _put(ready: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` once there is room; ``False`` when the consumer stopped first."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _drain(ready: queue.Queue[object]) -> None:
    while True:
        try:
            ready.get_nowait()
        except queue.Empty:
            return
