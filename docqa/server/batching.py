"""Micro-batching: model calls of concurrent requests gathered for a few milliseconds and run as one batch.

Each model has one :class:`MicroBatcher` with its own worker thread, so the event loop never runs a forward
pass, and requests await their results on the event loop (:meth:`MicroBatcher.run`): a waiting request holds
no thread. The queue is bounded (:class:`ServerBusy` when full) and a job whose request is cancelled (its client
went away) frees its slot at once and is never run.

>>> batcher = MicroBatcher("double", lambda jobs: [job * 2 for job in jobs], max_batch=8, max_wait_ms=1, max_queue=4)
>>> with batcher.active():  # a request in the server, around its model calls
...     batcher.submit(21).result()
42
>>> batcher.close()

A model's jobs are :class:`BatchJob`: one request's call of one model method, merged with the calls of other
requests that share its method and arguments (:func:`run_jobs`); :class:`BatchedComponent` stands in for a
pipeline component's ``run_batch`` (see :meth:`docqa.core.pipeline.Pipeline.run_batch_async`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from docqa.core.pipeline import batch_input_kinds
from docqa.errors import DocqaError
from docqa.server.cores import CoreShare

#: After a batch, the worker waits up to this share of its run time for as many items as it had: its clients,
#: answered together, send their next requests together (measured on 2 CPU cores with 16 clients: batches of
#: 1 + 15 became batches of 16, about +13% requests/s). Costs a lone client nothing: its last batch was its own.
REFILL_SHARE = 0.25
#: ... and never longer than this: the clients' next requests reach a model within a few milliseconds (tens, for a
#: pipeline's later model, behind the stages before it), while a quarter of a long batch (a cross-encoder's 7 s on
#: the CPU) left the model idle for 1.8 s whenever fewer requests came back (measured, hybrid pipeline, 16 clients).
REFILL_MAX_SECONDS = 0.1


class ServerBusy(DocqaError):
    """The model's queue is full: the client should retry later (HTTP 503 with Retry-After)."""


class MicroBatcher:
    """Runs ``run_batch(jobs) -> results`` (one result per job, in order) on a worker thread, gathering jobs
    that arrive within ``max_wait_ms`` of the first, up to ``max_batch`` items (a job's ``size``).

    The worker waits for more jobs only while more are on their way: up to ``max_wait_ms`` while other requests
    are in the server (each request's handler holds :meth:`active` around its model calls), and up to
    ``REFILL_SHARE`` of the last batch's run time (at most ``REFILL_MAX_SECONDS``) while fewer items are queued
    than that batch had. A request that arrives alone, after a batch of its own, runs at once, with no added
    latency. With ``cores`` (a CPU model), a large batch runs as parts at once, one per free core
    (:class:`~docqa.server.cores.CoreShare`).
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
        cores: CoreShare | None = None,
    ) -> None:
        self.name = name
        self._run_batch = run_batch
        self._max_batch, self._max_wait = max_batch, max_wait_ms / 1000.0
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._cores = cores
        self._jobs: collections.deque[tuple[Any, int, Future[Any]]] = collections.deque()
        self._outstanding = self._active = 0
        self._last_items, self._last_seconds = 0, 0.0  # the batch run last: its items and run time
        self._closed = False
        self._changed = threading.Condition()
        self._worker = threading.Thread(target=self._work, name=f"docqa-batcher-{name}", daemon=True)
        self._worker.start()

    @property
    def cores(self) -> CoreShare | None:
        """The cores this model's batches share with the other CPU models' (None: a batch runs whole)."""
        return self._cores

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

    def admit(self) -> None:
        """Raise :class:`ServerBusy` when the queue is full (a request checks before it starts its work)."""
        if self._outstanding >= self._max_queue:
            raise ServerBusy(f"the {self.name} queue is full ({self._max_queue} requests): retry shortly")

    def submit(self, job: Any, size: int = 1) -> Future[Any]:
        """Queue ``job``; its future gets the result. Raises :class:`ServerBusy` when the queue is full."""
        future: Future[Any] = Future()
        with self._changed:
            self.admit()
            self._outstanding += 1
            self._jobs.append((job, size, future))
            self._changed.notify_all()
        future.add_done_callback(self._release)
        return future

    async def run(self, job: Any, size: int = 1) -> Any:
        """Submit ``job`` and await its result on the event loop; cancelling the awaiting task (the client went
        away) cancels the job, which frees its slot and never runs. The error of a job that failed is raised."""
        return unwrap(await asyncio.wrap_future(self.submit(job, size)))

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
            live = [(job, size, future) for job, size, future in batch if future.set_running_or_notify_cancel()]
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
        batch's run time (at most ``REFILL_MAX_SECONDS``) while fewer items are queued than it had."""
        queued = sum(size for _, size, _ in self._jobs)
        if queued >= self._max_batch:
            return 0.0
        left = self._max_wait - elapsed if self._active > len(self._jobs) else 0.0
        if queued < self._last_items:
            left = max(left, min(REFILL_SHARE * self._last_seconds, REFILL_MAX_SECONDS) - elapsed)
        return left

    def _take(self) -> list[tuple[Any, int, Future[Any]]]:
        batch = [self._jobs.popleft()]
        total = batch[0][1]
        while self._jobs and total + self._jobs[0][1] <= self._max_batch:
            batch.append(self._jobs.popleft())
            total += batch[-1][1]
        self._last_items = total
        return batch

    def _run(self, live: list[tuple[Any, int, Future[Any]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(self.name, len(live))
        started = time.monotonic()
        try:
            results = self._results([job for job, _, _ in live], [size for _, size, _ in live])
        except BaseException as error:  # handed to each waiting request
            for _, _, future in live:
                future.set_exception(error)
            return
        finally:
            self._last_seconds = time.monotonic() - started
        for (_, _, future), result in zip(live, results, strict=True):
            future.set_result(result)

    def _results(self, jobs: list[Any], sizes: list[int]) -> Sequence[Any]:
        if self._cores is None:
            return self._run_batch(jobs)
        return self._cores.run(self._run_batch, jobs, sizes, self._last_seconds)


@dataclass(frozen=True, eq=False)
class BatchJob:
    """One request's call of a model method: ``call(**items, **shared)``. ``items`` hold one list per per-item
    argument (the request's questions, documents...), ``shared`` the arguments that must be equal for calls to be
    merged (``top_k``...). Jobs of the same method (the same loaded model, or a view sharing it and its settings)
    and the same shared arguments run as one call, their items concatenated."""

    call: Callable[..., Any]
    items: Mapping[str, list[Any]]
    shared: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def size(self) -> int:
        return len(next(iter(self.items.values()))) if self.items else 1

    def key(self) -> Hashable:
        owner = getattr(self.call, "__self__", self.call)
        try:
            hash(self.shared)
        except TypeError:  # an unhashable argument: this job runs on its own
            return id(self)
        return id(owner), getattr(self.call, "__name__", ""), self.shared


def run_jobs(jobs: list[BatchJob]) -> list[Any]:
    """Every job's result, in order: one call per group of mergeable jobs (see :class:`BatchJob`); a group whose
    call fails is rerun job by job, so that one bad request fails alone."""
    results: list[Any] = [None] * len(jobs)
    groups: dict[Hashable, list[int]] = {}
    for position, job in enumerate(jobs):
        groups.setdefault(job.key(), []).append(position)
    for positions in groups.values():
        for position, result in zip(positions, _run_group([jobs[p] for p in positions]), strict=True):
            results[position] = result
    return results


def _run_group(group: list[BatchJob]) -> list[Any]:
    first = group[0]
    merged = {name: [item for job in group for item in job.items[name]] for name in first.items}
    try:
        output = first.call(**merged, **dict(first.shared))
    except Exception as error:
        if len(group) == 1:
            return [_Failed(error)]  # handed to the one request it belongs to
        return [result for job in group for result in _run_group([job])]
    return _split(output, [job.size for job in group])


def _split(output: Any, sizes: list[int]) -> list[Any]:
    """A merged call's output cut back into the jobs' parts: each list of a ``run_batch`` dict, or the list."""
    bounds = [0, *itertools.accumulate(sizes)]
    pieces = list(itertools.pairwise(bounds))
    if isinstance(output, Mapping):
        return [{name: values[start:end] for name, values in output.items()} for start, end in pieces]
    return [output[start:end] for start, end in pieces]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def unwrap(result: Any) -> Any:
    """A job's result, raising the error if that job alone failed."""
    if isinstance(result, _Failed):
        raise result.error
    return result


class BatchedComponent:
    """Stands in for a pipeline component's ``run_batch`` (an override of
    :meth:`~docqa.core.pipeline.Pipeline.run_batch_async`): each call is one job of the component's micro-batcher,
    awaited on the event loop, merged with the calls of concurrent requests."""

    def __init__(self, component: Any, batcher: MicroBatcher) -> None:
        self.component = component
        self.batcher = batcher
        self._per_item = batch_input_kinds(component)

    async def run_batch(self, **arguments: Any) -> Any:
        items = {name: list(value) for name, value in arguments.items() if self._per_item[name]}
        shared = tuple(sorted((name, value) for name, value in arguments.items() if not self._per_item[name]))
        job = BatchJob(self.component.run_batch, items, shared)
        return await self.batcher.run(job, job.size)
