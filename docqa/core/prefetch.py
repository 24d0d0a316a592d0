"""Overlapping stages of work: a producer run ahead of its consumer on a worker thread (:func:`prefetched`), and
asynchronous work started for item k+1 before item k is finished (:func:`one_behind`).

>>> list(prefetched(iter(range(5)), depth=2))
[0, 1, 2, 3, 4]
>>> list(prefetched(iter("abc"), depth=0))  # depth 0: no thread, the items are made on demand
['a', 'b', 'c']
>>> list(one_behind(iter([1, 2, 3]), start=lambda x: x * 10, finish=lambda x: x + 1))
[11, 21, 31]

Items arrive in the producer's order. An exception raised by the producer is raised again in the consumer, at
the position where the next item would have come (the items made before it are delivered first). When the
consumer stops early (``break``, an exception, the generator closed), the worker stops after the item it is
making. The producer's own work must release the GIL to overlap anything (tokenizers, numpy, torch do).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")

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


def one_behind(items: Iterator[T], start: Callable[[T], U], finish: Callable[[U], V]) -> Iterator[V]:
    """``finish(start(item))`` for each item, in order, each item finished only after the next one was started:
    ``start`` launches asynchronous work (a device-to-host copy) and ``finish`` waits for it, so the wait for
    item k overlaps the work queued for item k+1."""
    pending: list[U] = []
    for item in items:
        pending.append(start(item))
        if len(pending) == 2:
            yield finish(pending.pop(0))
    if pending:
        yield finish(pending.pop())
