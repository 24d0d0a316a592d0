"""The CPU's cores shared by the batches running at once: a large batch runs as parts at once, one core each, and
gets the answers it gets whole; a small one, one that finds the cores taken and one of a model with long batches
run whole on every core."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from docqa import Document
from docqa.server.batching import BatchJob, run_jobs, unwrap
from docqa.server.config import ServerConfig
from docqa.server.cores import MIN_PART_ITEMS, SPLIT_UNDER_SECONDS, CoreShare
from docqa.server.metrics import ServerMetrics
from docqa.server.state import ServerState


class Recorder:
    """A model stand-in: doubles its jobs, recording each call's thread, intra-op threads and jobs."""

    def __init__(self, meet: threading.Barrier | None = None) -> None:
        self.calls: list[tuple[int, int, list[int]]] = []
        self.meet = meet

    def __call__(self, jobs: list[int]) -> list[int]:
        self.calls.append((threading.get_ident(), torch.get_num_threads(), list(jobs)))
        if self.meet is not None:
            self.meet.wait()  # every part has to be running at once to get past this
        return [job * 2 for job in jobs]


@pytest.fixture
def cores() -> Any:
    share = CoreShare(2)
    yield share
    share.close()


def test_a_large_batch_runs_as_parts_at_once_one_core_each(cores: CoreShare) -> None:
    model = Recorder(threading.Barrier(2, timeout=30))
    jobs = list(range(2 * MIN_PART_ITEMS))
    before = torch.get_num_threads()
    assert cores.run(model, jobs, [1] * len(jobs)) == [job * 2 for job in jobs]
    assert len(model.calls) == 2 and model.calls[0][0] != model.calls[1][0]
    assert [threads for _, threads, _ in model.calls] == [1, 1]
    assert sorted(job for _, _, part in model.calls for job in part) == jobs
    assert torch.get_num_threads() == before  # the calling thread's setting is given back


def test_a_small_batch_runs_whole_on_every_free_core(cores: CoreShare) -> None:
    model = Recorder()
    jobs = list(range(2 * MIN_PART_ITEMS - 1))
    assert cores.run(model, jobs, [1] * len(jobs)) == [job * 2 for job in jobs]
    assert model.calls == [(threading.get_ident(), 2, jobs)]


def test_parts_are_balanced_by_items_not_by_jobs(cores: CoreShare) -> None:
    model = Recorder()
    sizes = [2 * MIN_PART_ITEMS - 2, 1, 1]  # one request of 14 pairs and two of one: 14 against 2 is the best cut
    assert cores.run(model, [10, 11, 12], sizes) == [20, 22, 24]
    assert sorted(part for _, _, part in model.calls) == [[10], [11, 12]]


def test_a_batch_that_finds_the_cores_taken_runs_whole_on_every_core(cores: CoreShare) -> None:
    running, release = threading.Event(), threading.Event()
    held = Recorder()

    def hold(jobs: list[int]) -> list[int]:
        running.set()
        release.wait(30)
        return held(jobs)

    first = threading.Thread(target=cores.run, args=(hold, [1], [1]))
    first.start()
    try:
        assert running.wait(30)  # the first batch holds both cores
        model = Recorder()
        jobs = list(range(4 * MIN_PART_ITEMS))
        assert cores.run(model, jobs, [1] * len(jobs)) == [job * 2 for job in jobs]
        assert model.calls == [(threading.get_ident(), 2, jobs)]  # as PyTorch would run it: no part held to one core
    finally:
        release.set()
        first.join()
    assert [threads for _, threads, _ in held.calls] == [2]


def test_a_model_whose_last_batch_was_long_runs_whole(cores: CoreShare) -> None:
    model = Recorder()
    jobs = list(range(2 * MIN_PART_ITEMS))
    assert cores.run(model, jobs, [1] * len(jobs), last_seconds=SPLIT_UNDER_SECONDS + 0.1) == [j * 2 for j in jobs]
    assert model.calls == [(threading.get_ident(), 2, jobs)]
    cores.run(model, jobs, [1] * len(jobs), last_seconds=SPLIT_UNDER_SECONDS)
    assert len(model.calls) == 3  # a short last batch: split again


def test_a_failing_part_is_raised_once_every_part_has_finished(cores: CoreShare) -> None:
    finished: list[str] = []

    def run_batch(jobs: list[int]) -> list[int]:
        if 0 in jobs:
            raise ValueError("the first part failed")
        time.sleep(0.3)
        finished.append("the other part")
        return jobs

    jobs = list(range(2 * MIN_PART_ITEMS))
    with pytest.raises(ValueError, match="first part"):
        cores.run(run_batch, jobs, [1] * len(jobs))
    assert finished == ["the other part"]


QUESTIONS = ["Where do I live?", "Who built the bridge?", "What does Lena play?", "When was it built?"]
CONTEXTS = [
    "My name is Clara and I live in Vienna.",
    "The bridge was built in 1932 by a company from Glasgow, after a long dispute about its cost and its design.",
    "Lena plays the cello in an orchestra in Leipzig.",
    "It was built in 1932.",
]


def test_a_served_cpu_reader_splits_its_batches_and_answers_as_it_does_whole(tiny_bert_qa_dir: Path) -> None:
    config = ServerConfig(model=str(tiny_bert_qa_dir), dtype="float32")
    state = ServerState(config, ServerMetrics())
    state.start()
    try:
        deadline = time.monotonic() + 120
        while state.loading and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state.ready, state.errors
        batcher = state.batchers[state.reader_name]
        assert batcher.cores is state.cores and state.cores is not None
        reader = state.models[state.reader_name]
        pairs = [(QUESTIONS[n % 4], CONTEXTS[(n // 4) % 4]) for n in range(2 * MIN_PART_ITEMS)]
        jobs = [BatchJob(reader.run_batch, {"query": [q], "documents": [[Document(c)]]}) for q, c in pairs]
        two_cores = CoreShare(2)  # whatever this machine has: two parts
        try:
            served = [unwrap(result)["answers"][0] for result in two_cores.run(run_jobs, jobs, [1] * len(jobs))]
        finally:
            two_cores.close()
        whole = reader.run_batch(query=[q for q, _ in pairs], documents=[[Document(c)] for _, c in pairs])
        for got, expected in zip(served, whole["answers"], strict=True):
            assert [(a.text, a.document_span) for a in got] == [(a.text, a.document_span) for a in expected]
            assert [a.score for a in got] == pytest.approx([a.score for a in expected], rel=1e-5, abs=1e-6)
    finally:
        state.close()
