"""Micro-batching over real HTTP: concurrent /score requests share one forward pass and get the answers they
get alone; a request that arrives alone never waits for company; model calls leave the event loop free.

The reader is :class:`gated_reader.GatedReader`: while its read gate file is missing, its model call blocks, so
"one batch is running and three requests queue behind it" is a state, not a race. ``--max-wait-ms`` is ten
minutes: a lone request that waited for more would hang the test.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_loading_and_backpressure import metric, start_gated, until

from docqa.server.batching import BatchJob, MicroBatcher, run_jobs, unwrap

CONTEXTS = [
    "My name is Clara and I live in Vienna.",
    "The bridge was built in 1932 by a company from Glasgow.",
    "Lena plays the cello in an orchestra in Leipzig.",
]
QUESTIONS = ["Where do I live?", "Who built the bridge?", "What does Lena play?"]


def _score(url: str, question: str, context: str) -> httpx.Response:
    body = {"inputs": {"question": question, "context": context}, "parameters": {"top_k": 2}}
    return httpx.post(url + "/score", json=body, timeout=120)


def test_concurrent_requests_share_one_batch(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    gate = tmp_path / "read-gate"
    gate.touch()
    args = ("--max-batch", "16", "--max-wait-ms", "600000")
    server = start_gated(serve, tmp_path, qa_store, tiny_bert_qa_dir, *args, read_gate=gate)
    server.wait("/ready")
    client = server.client()
    alone = [_score(server.url, q, c) for q, c in zip(QUESTIONS, CONTEXTS, strict=True)]  # one at a time
    assert all(response.status_code == 200 for response in alone), [r.text for r in alone]
    assert metric(client, "docqa_batch_size_count", model="reader") == 3

    gate.unlink()  # the next model call blocks until the gate is back
    answers: dict[int, Any] = {}

    def ask(number: int, question: str, context: str) -> None:
        answers[number] = _score(server.url, question, context)

    held = threading.Thread(target=ask, args=(-1, "Who is it?", "It is Tom."))
    held.start()
    until(lambda: metric(client, "docqa_queue_depth", model="reader") == 1)
    pairs = list(zip(QUESTIONS, CONTEXTS, strict=True))
    threads = [threading.Thread(target=ask, args=(n, q, c)) for n, (q, c) in enumerate(pairs)]
    for thread in threads:
        thread.start()
    until(lambda: metric(client, "docqa_queue_depth", model="reader") == 4)
    assert client.get("/health").json() == {"status": "ok"}  # the event loop is free meanwhile
    assert client.get("/documents/count").status_code == 200
    gate.touch()
    for thread in [held, *threads]:
        thread.join(timeout=120)
    assert answers[-1].status_code == 200
    for batched, single in zip([answers[n].json() for n in range(3)], [r.json() for r in alone], strict=True):
        assert [(a["answer"], a["start"], a["end"]) for a in batched] == [
            (a["answer"], a["start"], a["end"]) for a in single
        ]
        assert [a["score"] for a in batched] == pytest.approx([a["score"] for a in single], abs=1e-5)
    assert metric(client, "docqa_batch_size_count", model="reader") == 5  # 3 alone, the held one, then one
    assert metric(client, "docqa_batch_size_sum", model="reader") == 3 + 1 + 3  # ... batch of the three queued


def test_the_clients_of_a_batch_are_gathered_again_when_they_come_back() -> None:
    # closed-loop clients: answered together, they send their next requests a few ms apart; the worker waits
    # for them (up to REFILL_SHARE of the last batch's run time) instead of running the first one alone
    sizes: list[int] = []

    def slow_double(jobs: list[int]) -> list[int]:
        sizes.append(len(jobs))
        time.sleep(0.4)
        return [job * 2 for job in jobs]

    batcher = MicroBatcher("slow", slow_double, max_batch=8, max_wait_ms=10_000, max_queue=16)
    try:
        with batcher.active(), batcher.active(), batcher.active(), batcher.active():
            first = [batcher.submit(n) for n in range(4)]
        assert [f.result(timeout=30) for f in first] == [0, 2, 4, 6]
        later = []
        for n in range(4):  # no request marked active: only the refill rule can make them wait
            later.append(batcher.submit(n))
            time.sleep(0.005)
        assert [f.result(timeout=30) for f in later] == [0, 2, 4, 6]
        assert sizes == [4, 4]
        alone = batcher.submit(21)  # one item after a batch of four: waits at most 0.1 s, then runs alone
        assert alone.result(timeout=30) == 42 and sizes == [4, 4, 1]
        sizes.clear()
        assert batcher.submit(1).result(timeout=30) == 2 and sizes == [1]  # after a batch of its own: at once
    finally:
        batcher.close()


class Doubler:
    """A model stand-in that records its calls and refuses negative items."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int]] = []

    def run_batch(self, items: list[int], factor: int = 2) -> dict[str, list[int]]:
        self.calls.append((list(items), factor))
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {items}")
        return {"doubled": [item * factor for item in items]}


def test_jobs_of_one_method_and_shared_arguments_run_as_one_call() -> None:
    model, other = Doubler(), Doubler()
    jobs = [
        BatchJob(model.run_batch, {"items": [1, 2]}, (("factor", 2),)),
        BatchJob(model.run_batch, {"items": [3]}, (("factor", 3),)),  # another factor: its own call
        BatchJob(other.run_batch, {"items": [4]}, (("factor", 2),)),  # another model: its own call
        BatchJob(model.run_batch, {"items": [5]}, (("factor", 2),)),
    ]
    assert run_jobs(jobs) == [{"doubled": [2, 4]}, {"doubled": [9]}, {"doubled": [8]}, {"doubled": [10]}]
    assert model.calls == [([1, 2, 5], 2), ([3], 3)] and other.calls == [([4], 2)]


def test_a_bad_job_fails_alone() -> None:
    model = Doubler()
    jobs = [BatchJob(model.run_batch, {"items": [1]}), BatchJob(model.run_batch, {"items": [-1]}),
            BatchJob(model.run_batch, {"items": [2]})]  # fmt: skip
    results = run_jobs(jobs)
    assert unwrap(results[0]) == {"doubled": [2]} and unwrap(results[2]) == {"doubled": [4]}
    with pytest.raises(ValueError, match="negative item"):
        unwrap(results[1])
    assert model.calls == [([1, -1, 2], 2), ([1], 2), ([-1], 2), ([2], 2)]  # merged, then retried one by one
