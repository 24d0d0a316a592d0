"""Pipeline.run_batch_async: the graph of run_batch on an event loop, overrides awaited, other components in
worker threads."""

from __future__ import annotations

import asyncio
import threading
from types import ModuleType
from typing import Any

import pytest
from test_pipeline_run import qa

from docqa.errors import PipelineError


def test_equals_run_batch_and_awaits_the_override_with_run_batchs_arguments(toys: ModuleType) -> None:
    pipeline = qa(toys)
    reader = pipeline.get_component("reader")
    data = [{"query": "rome"}, {"query": "oslo cold"}, {"query": "paris big"}]
    calls: list[dict[str, Any]] = []
    threads: set[int] = set()

    async def reader_override(**kwargs: Any) -> Any:
        calls.append(kwargs)
        threads.add(threading.get_ident())
        return reader.run_batch(**kwargs)

    async def run() -> list[dict[str, Any]]:
        loop_thread = threading.get_ident()
        found = await pipeline.run_batch_async(data, overrides={"reader": reader_override})
        assert threads == {loop_thread}  # the override ran on the loop, not in a worker thread
        return found

    assert asyncio.run(run()) == pipeline.run_batch(data)
    assert [len(call["query"]) for call in calls] == [3] and calls[0]["query"] == ["rome", "oslo cold", "paris big"]


def test_items_disagreeing_on_a_shared_input_are_one_call_each(toys: ModuleType) -> None:
    pipeline = qa(toys)
    reader = pipeline.get_component("reader")
    sizes: list[int] = []

    async def override(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["query"]))
        return reader.run_batch(**kwargs)

    data = [{"query": "rome", "reader": {"top_k": 1}}, {"query": "oslo", "reader": {"top_k": 2}}]
    found = asyncio.run(pipeline.run_batch_async(data, overrides={"reader": override}))
    assert sizes == [1, 1] and [len(r["reader"]["answers"]) for r in found] == [1, 2]


def test_other_components_leave_the_event_loop_free(toys: ModuleType) -> None:
    """A retriever blocked in its worker thread does not block the loop: a coroutine running beside it
    releases it."""
    pipeline = qa(toys)
    retriever = pipeline.get_component("retriever")
    released = threading.Event()
    original = retriever.run

    def blocked_run(**kwargs: Any) -> Any:
        assert released.wait(timeout=10), "the event loop was blocked"
        return original(**kwargs)

    retriever.run = blocked_run

    async def release() -> None:
        await asyncio.sleep(0.05)
        released.set()

    async def both() -> list[dict[str, Any]]:
        found, _ = await asyncio.gather(pipeline.run_batch_async([{"query": "rome"}]), release())
        return found

    assert asyncio.run(both()) == [{"reader": {"answers": ["rome", "paris"]}}]


def test_an_override_needs_a_component_with_run_batch(toys: ModuleType) -> None:
    pipeline = qa(toys)

    async def override(**kwargs: Any) -> Any:
        raise AssertionError("never called")

    with pytest.raises(PipelineError, match="'retriever' has no run_batch"):
        asyncio.run(pipeline.run_batch_async([{"query": "rome"}], overrides={"retriever": override}))
    with pytest.raises(PipelineError, match="nowhere"):
        asyncio.run(pipeline.run_batch_async([{"query": "rome"}], overrides={"nowhere": override}))
