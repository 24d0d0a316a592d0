"""The CPU cores of ``docqa serve``, shared by the model batches that run at once.

PyTorch runs each forward pass on every core (its intra-op threads). For a lone request that is right: it is
answered sooner. Under load it is not: small matrix products split over two cores run well below twice as fast as
on one. Measured on 2 cores, a MiniLM reader and /score-sized pairs: a batch of 16 on two threads gave 243 items/s;
the same 16 as two halves of 8, each on one core, gave 336. So a batch of at least ``2 * MIN_PART_ITEMS`` items
runs as parts, one per free core, each on its own thread with one intra-op thread (more when there are more free
cores than parts). Any other batch runs whole on every core, as PyTorch would run it: a smaller one (a lone request
keeps every core), one that starts while other batches hold the cores, and one of a model whose last batch took
over ``SPLIT_UNDER_SECONDS`` (a compute-bound model, a cross-encoder on the CPU: two threads ran it 1.85x faster
than one, and a part that finishes first would leave its core idle while the others run on).

>>> cores = CoreShare(2)
>>> cores.run(lambda jobs: [job * 2 for job in jobs], list(range(16)), [1] * 16)[:4]
[0, 2, 4, 6]
>>> cores.close()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

#: A model whose last batch ran longer than this runs its batches whole (see above).
SPLIT_UNDER_SECONDS = 0.5
RunBatch = Callable[[list[Any]], Sequence[Any]]  #: a model's batch: the jobs' results, in order

#: A part of a split batch holds at least this many items: below it, a batch runs whole (the model's per-call costs
#: outweigh what one core per part gains: on the reader above, halves of 4 gained 5% in-process, and splitting
#: the batches of 4 clients cost the server 13% of its requests/s).
MIN_PART_ITEMS = 8


class CoreShare:
    """``cores`` CPU cores shared by the batches that run at once (each :class:`MicroBatcher` of a CPU model runs
    its batches through :meth:`run`)."""

    def __init__(self, cores: int) -> None:
        self.cores = max(1, cores)
        self._claimed = 0
        self._lock = threading.Lock()
        self._helpers = ThreadPoolExecutor(max_workers=max(1, self.cores - 1), thread_name_prefix="docqa-part")

    def run(self, run_batch: RunBatch, jobs: list[Any], sizes: list[int], last_seconds: float = 0.0) -> list[Any]:
        """``run_batch(jobs)``'s results, in order; ``sizes`` are the jobs' items, ``last_seconds`` the model's last
        batch's run time. The batch runs as parts at once (each a ``run_batch`` of some of the jobs) when it is
        large enough, cores are free and the model's batches are short; an error of a part is raised once every part
        has finished."""
        threads = self._claim(sum(sizes), len(jobs) if last_seconds <= SPLIT_UNDER_SECONDS else 1)
        try:
            return self._run_parts(run_batch, jobs, balanced(sizes, len(threads)), threads)
        finally:
            with self._lock:
                self._claimed -= sum(threads)

    def close(self) -> None:
        self._helpers.shutdown(wait=True)

    def _claim(self, items: int, most_parts: int) -> list[int]:
        """The intra-op threads of each of at most ``most_parts`` parts: the free cores split evenly among them,
        or every core for a batch run whole."""
        with self._lock:
            free = self.cores - self._claimed
            parts = min(free, most_parts, items // MIN_PART_ITEMS)
            threads = [free // parts] * parts if parts > 1 else [self.cores]
            self._claimed += sum(threads)
        return threads

    def _run_parts(self, run_batch: RunBatch, jobs: list[Any], parts: list[list[int]], threads: list[int]) -> list[Any]:
        def run(part: int) -> Sequence[Any]:
            with intra_op_threads(threads[part]):
                return run_batch([jobs[index] for index in parts[part]])

        others = [self._helpers.submit(run, part) for part in range(1, len(parts))]
        try:
            first = run(0)
        finally:
            wait(others)  # no part is left running when the batch returns or fails
        return _in_order(parts, [first, *(other.result() for other in others)], len(jobs))


def _in_order(parts: list[list[int]], outputs: list[Sequence[Any]], count: int) -> list[Any]:
    """The parts' results put back in the jobs' order."""
    results: list[Any] = [None] * count
    for indices, output in zip(parts, outputs, strict=True):
        for index, result in zip(indices, output, strict=True):
            results[index] = result
    return results


def balanced(sizes: list[int], parts: int) -> list[list[int]]:
    """The indices of ``sizes`` in ``parts`` groups of about equal total size (largest first, each to the lightest
    group), each group in its original order.

    >>> balanced([1, 1, 6, 1, 1, 2], 2)
    [[2], [0, 1, 3, 4, 5]]
    """
    groups: list[list[int]] = [[] for _ in range(parts)]
    totals = [0] * parts
    for index in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(index)
        totals[lightest] += sizes[index]
    return [sorted(group) for group in groups]


@contextlib.contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """PyTorch's operations in this thread run on ``count`` intra-op threads while the block runs (with OpenMP, as
    PyTorch's CPU wheels use, the setting is the calling thread's own; other threads keep theirs)."""
    import torch

    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)
