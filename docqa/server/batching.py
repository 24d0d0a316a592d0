"""Micro-batching: model calls of concurrent requests gathered for a few milliseconds and run as one batch.

Each model has one :class:`MicroBatcher` with its own worker thread, so the event loop never runs a forward
pass. The queue is bounded (:class:`ServerBusy` when full) and a job whose future is cancelled (its client went
away) frees its slot at once and is never run.

>>> batcher = MicroBatcher("double", lambda jobs: [job * 2 for job in jobs], max_batch=8, max_wait_ms=1, max_queue=4)
>>> with batcher.active():  # a request in the server, around its model calls
...     batcher.submit(21).result()
42
>>> batcher.close()
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from docqa.errors import DocqaError

#: After a batch, the worker waits up to this share of its run time for as many items as it had: its clients,
#: answered together, send their next requests together (measured on 2 CPU cores with 16 clients: batches of
#: 1 + 15 became batches of 16, about +13% requests/s). Costs a lone client nothing: its last batch was its own.
REFILL_SHARE = 0.25
_READER_SETTINGS = ("doc_stride", "max_seq_len", "max_query_length", "max_answer_length", "no_answer")


class ServerBusy(DocqaError):
    """The model's queue is full: the client should retry later (HTTP 503 with Retry-After)."""


class MicroBatcher:
    """Runs ``run_batch(jobs) -> results`` (one result per job, in order) on a worker thread, gathering jobs
    that arrive within ``max_wait_ms`` of the first, up to ``max_batch`` items (a job's ``size``).

    The worker waits for more jobs only while more are on their way: up to ``max_wait_ms`` while other requests
    are in the server (each request's handler holds :meth:`active` around its model calls), and up to
    ``REFILL_SHARE`` of the last batch's run time while fewer items are queued than that batch had. A request
    that arrives alone, after a batch of its own, runs at once, with no added latency.
    """

    def __init__(
        self,
        name: str,
        run_batch: Callable[[list[Any]], Sequence[Any]],
        *,
        max_batch: int,
        max_wait_ms: float,
        max_queue: int,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.name = name
        self._run_batch = run_batch
        self._max_batch, self._max_wait = max_batch, max_wait_ms / 1000.0
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._jobs: collections.deque[tuple[Any, int, Future[Any]]] = collections.deque()
        self._outstanding = self._active = 0
        self._last_items, self._last_seconds = 0, 0.0  # the batch run last: its items and run time
        self._closed = False
        self._changed = threading.Condition()
        self._worker = threading.Thread(target=self._work, name=f"docqa-batcher-{name}", daemon=True)
        self._worker.start()

    @property
    def depth(self) -> int:
        """Jobs submitted and neither finished nor cancelled."""
        return self._outstanding

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Mark one request as in the server (and so possibly about to submit) while the block runs."""
        with self._changed:
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    def submit(self, job: Any, size: int = 1) -> Future[Any]:
        """Queue ``job``; its future gets the result. Raises :class:`ServerBusy` when the queue is full."""
        future: Future[Any] = Future()
        with self._changed:
            if self._outstanding >= self._max_queue:
                raise ServerBusy(f"the {self.name} queue is full ({self._max_queue} requests): retry shortly")
            self._outstanding += 1
            self._jobs.append((job, size, future))
            self._changed.notify_all()
        future.add_done_callback(self._release)
        return future

    def _release(self, _: Future[Any]) -> None:
        with self._changed:
            self._outstanding -= 1

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._worker.join(timeout=5)

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            live = [(job, future) for job, _, future in batch if future.set_running_or_notify_cancel()]
            if live:
                self._run(live)

    def _next_batch(self) -> list[tuple[Any, int, Future[Any]]] | None:
        """The next batch (None once closed): the first queued job, then whatever arrives while
        :meth:`_wait_left` says more is on its way, up to ``max_batch`` items."""
        with self._changed:
            while not self._jobs and not self._closed:
                self._changed.wait()
            if not self._jobs:
                return None
            first = time.monotonic()
            while not self._closed and (remaining := self._wait_left(time.monotonic() - first)) > 0:
                self._changed.wait(remaining)
            return self._take()

    def _wait_left(self, elapsed: float) -> float:
        """Seconds still worth waiting, ``elapsed`` after the first job (0 once the batch is full): up to
        ``max_wait`` while a request in the server has not submitted yet; up to ``REFILL_SHARE`` of the last
        batch's run time while fewer items are queued than it had."""
        queued = sum(size for _, size, _ in self._jobs)
        if queued >= self._max_batch:
            return 0.0
        left = self._max_wait - elapsed if self._active > len(self._jobs) else 0.0
        if queued < self._last_items:
            left = max(left, REFILL_SHARE * self._last_seconds - elapsed)
        return left

    def _take(self) -> list[tuple[Any, int, Future[Any]]]:
        batch = [self._jobs.popleft()]
        total = batch[0][1]
        while self._jobs and total + self._jobs[0][1] <= self._max_batch:
            batch.append(self._jobs.popleft())
            total += batch[-1][1]
        self._last_items = total
        return batch

    def _run(self, live: list[tuple[Any, Future[Any]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(self.name, len(live))
        started = time.monotonic()
        try:
            results = self._run_batch([job for job, _ in live])
        except BaseException as error:  # handed to each waiting request
            for _, future in live:
                future.set_exception(error)
            return
        finally:
            self._last_seconds = time.monotonic() - started
        for (_, future), result in zip(live, results, strict=True):
            future.set_result(result)


@dataclass(frozen=True)
class ReadJob:
    """One ``run_batch`` call of a request: questions, their documents, and the reader settings it asked for."""

    settings: tuple[tuple[str, Any], ...]
    queries: list[str]
    documents: list[list[Any]]
    top_k: int | None
    threshold: float | None

    def key(self) -> Hashable:
        return (self.settings, self.top_k, self.threshold)


def group_by_key(jobs: Sequence[Any]) -> dict[Hashable, list[int]]:
    """Job positions by their ``key()``: jobs with the same key can share one model call."""
    groups: dict[Hashable, list[int]] = {}
    for position, job in enumerate(jobs):
        groups.setdefault(job.key(), []).append(position)
    return groups


class ReaderRunner:
    """Runs a batch of :class:`ReadJob` as one ``run_batch`` per settings group on the loaded ``reader``; a group
    that fails is rerun job by job, so that one bad request fails alone."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._configured: dict[Hashable, Any] = {}

    def __call__(self, jobs: list[ReadJob]) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        for positions in group_by_key(jobs).values():
            group = [jobs[p] for p in positions]
            for position, answers in zip(positions, self._group(group), strict=True):
                results[position] = answers
        return results

    def _group(self, group: list[ReadJob]) -> list[Any]:
        reader = self._reader_for(group[0].settings)
        queries = [q for job in group for q in job.queries]
        documents = [d for job in group for d in job.documents]
        try:
            answers = reader.run_batch(queries, documents, group[0].top_k, group[0].threshold)["answers"]
        except Exception:
            if len(group) == 1:
                raise
            return [_outcome(functools.partial(self._single, job)) for job in group]
        return _split(answers, [len(job.queries) for job in group])

    def _single(self, job: ReadJob) -> Any:
        return self._group([job])[0]

    def _reader_for(self, settings: tuple[tuple[str, Any], ...]) -> Any:
        if settings not in self._configured:
            configured = copy.copy(self.reader)  # shares the loaded model
            for name, value in settings:
                setattr(configured, name, value)
            _check_settings(configured, dict(settings))
            self._configured[settings] = configured
        return self._configured[settings]


def _check_settings(reader: Any, settings: dict[str, Any]) -> None:
    """Validate a configured copy of an ExtractiveReader as its constructor and warm-up would."""
    from docqa.readers.extractive_reader import ExtractiveReader

    if not isinstance(reader, ExtractiveReader):
        return
    ExtractiveReader(model=reader.model, **settings)  # the constructor's checks; loads nothing
    if getattr(reader, "_tokenizer", None) is not None and hasattr(reader._model, "config"):
        reader._check_window_geometry(reader._tokenizer, reader._model)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:  # handed to the one request it belongs to
        return _Failed(error)


def unwrap(result: Any) -> Any:
    """A job's result, raising the error if that job alone failed."""
    if isinstance(result, _Failed):
        raise result.error
    return result


class PendingCalls:
    """The batcher futures one request waits on; :meth:`cancel` (its client went away) cancels them and any
    submitted later, so that they free their queue slots and never run."""

    def __init__(self) -> None:
        self._futures: list[Future[Any]] = []
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def wait(self, future: Future[Any]) -> Any:
        with self._lock:
            self._futures.append(future)
            if self._cancelled.is_set():
                future.cancel()
        return future.result()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            for future in self._futures:
                future.cancel()


class BatchedReader:
    """Stands in for an :class:`~docqa.readers.ExtractiveReader` (for :mod:`docqa.formats` and ``/query``):
    ``run_batch`` goes through the batcher; every future it waits on is recorded in ``pending`` so that the
    request can cancel them when its client disconnects."""

    def __init__(self, reader: Any, batcher: MicroBatcher) -> None:
        self._reader = reader
        self._batcher = batcher
        self.pending = PendingCalls()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "pending":
            raise AttributeError(name)
        return getattr(self._reader, name)

    def warm_up(self) -> None:
        """The real reader is warmed up by the server before requests reach it."""

    def run(self, query: str, documents: list[Any], top_k: int | None = None, **options: Any) -> dict[str, Any]:
        return {
            "answers": self.run_batch([query], [documents], top_k, options.get("no_answer_threshold"))["answers"][0]
        }

    def run_batch(
        self,
        query: list[str],
        documents: list[list[Any]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
    ) -> dict[str, Any]:
        settings = tuple((name, getattr(self, name)) for name in _READER_SETTINGS)
        job = ReadJob(settings, list(query), list(documents), top_k, no_answer_threshold)
        return {"answers": unwrap(self.pending.wait(self._batcher.submit(job, size=len(query))))}


@dataclass(frozen=True)
class FillJob:
    encoded: list[Any]
    top_k: int
    targets: tuple[str, ...] | None

    def key(self) -> Hashable:
        return (self.top_k, self.targets)


class FillMaskRunner:
    """Runs a batch of :class:`FillJob` as one ``predict_encoded`` per (top_k, targets) group."""

    def __init__(self, fill_mask: Any) -> None:
        self.fill_mask = fill_mask

    def __call__(self, jobs: list[FillJob]) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        for positions in group_by_key(jobs).values():
            group = [jobs[p] for p in positions]
            for position, found in zip(positions, self._group(group), strict=True):
                results[position] = found
        return results

    def _single(self, job: FillJob) -> Any:
        return self._group([job])[0]

    def _group(self, group: list[FillJob]) -> list[Any]:
        encoded = [item for job in group for item in job.encoded]
        targets = list(group[0].targets) if group[0].targets is not None else None
        try:
            found = self.fill_mask.predict_encoded(encoded, top_k=group[0].top_k, targets=targets)
        except Exception:
            if len(group) == 1:
                raise
            return [_outcome(functools.partial(self._single, job)) for job in group]
        return _split(found, [len(job.encoded) for job in group])


class BatchedFillMask:
    """Stands in for a :class:`~docqa.fill_mask.FillMask`: ``encode`` runs here, ``predict_encoded`` batched."""

    def __init__(self, fill_mask: Any, batcher: MicroBatcher) -> None:
        self._fill_mask = fill_mask
        self._batcher = batcher
        self.pending = PendingCalls()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "pending":
            raise AttributeError(name)
        return getattr(self._fill_mask, name)

    def predict_encoded(self, encoded: list[Any], top_k: int = 5, targets: list[str] | None = None) -> list[Any]:
        job = FillJob(list(encoded), top_k, tuple(targets) if targets is not None else None)
        return unwrap(self.pending.wait(self._batcher.submit(job, size=len(encoded))))


def _split(items: list[Any], sizes: list[int]) -> list[list[Any]]:
    """``items`` cut into consecutive pieces of ``sizes`` (one piece per job of a batch)."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(items[start : start + size])
        start += size
    return pieces
