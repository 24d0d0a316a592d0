"""The work around the model: answers that do not depend on batching, the accelerator's way of reading run on the
CPU (token budget without a window count, spans decoded batch by batch, copies read one batch late, chunks
prepared on a worker thread), and the worker's errors as the reader's one-line error."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from docqa.errors import ComponentError
from docqa.readers import ExtractiveReader
from docqa.readers.inference import DevicePlan
from docqa.readers.windows import PairTokenizer
from docqa.schema import Answer, Document

GEOMETRY = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "max_answer_length": 8}
pytestmark = pytest.mark.filterwarnings("ignore:ExtractiveReader. a question longer:UserWarning")
#: The accelerator's plan, minus page-locked memory (which needs a GPU): what a GPU reader does, on the CPU.
ACCELERATOR_ON_CPU = dataclasses.replace(DevicePlan.of("cuda"), pin_memory=False)


def _cases(squad_file: Path) -> tuple[list[str], list[list[Document]]]:
    paragraphs = [p for article in json.loads(squad_file.read_text())["data"] for p in article["paragraphs"]][::80]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"][:2]]
    documents = [[Document(p["context"]), Document(paragraphs[i - 1]["context"])] for i, p in enumerate(paragraphs)]
    return questions, [documents[i] for i, p in enumerate(paragraphs) for _ in p["qas"][:2]]


def _key(answers: list[Answer]) -> list[tuple[object, ...]]:
    return [(a.text, a.document.id if a.document else None, a.document_span) for a in answers]


def _reader(model_dir: Path, plan: DevicePlan | None = None, **kwargs: object) -> ExtractiveReader:
    reader = ExtractiveReader(model=str(model_dir), device="cpu", top_k=4, **{**GEOMETRY, **kwargs})  # type: ignore[arg-type]
    reader.warm_up()
    if plan is not None:
        reader._plan = plan
    return reader


@pytest.fixture(scope="module")
def reference(tiny_bert: Path, squad_dev_half: Path) -> list[list[Answer]]:
    """Every question read alone, one window per forward pass."""
    questions, documents = _cases(squad_dev_half)
    reader = _reader(tiny_bert, batch_size=1)
    return [reader.run(query=q, documents=d)["answers"] for q, d in zip(questions, documents, strict=True)]


@pytest.mark.parametrize(
    "plan,settings",
    [
        (None, {}),  # the CPU defaults: 32 windows / 512 tokens, spans decoded 16k tokens at a time
        (None, {"batch_size": 3, "max_batch_tokens": 100}),
        (ACCELERATOR_ON_CPU, {}),  # 65k tokens, no window count, each batch decoded alone, a worker thread
        (dataclasses.replace(ACCELERATOR_ON_CPU, decode_tokens=200), {"batch_size": 5, "max_batch_tokens": 300}),
    ],
)
def test_answers_do_not_depend_on_batching_decoding_or_prefetching(
    tiny_bert: Path,
    squad_dev_half: Path,
    reference: list[list[Answer]],
    monkeypatch: pytest.MonkeyPatch,
    plan: DevicePlan | None,
    settings: dict[str, object],
) -> None:
    questions, documents = _cases(squad_dev_half)
    reader = _reader(tiny_bert, plan, **settings)
    reader._plan = dataclasses.replace(reader._plan, chunk_pairs=7)  # several chunks: the worker runs ahead
    got = reader.run_batch(questions, documents)["answers"]
    assert len(got) == len(reference)
    for ours, theirs in zip(got, reference, strict=True):
        assert _key(ours) == _key(theirs)
        np.testing.assert_allclose([a.score for a in ours], [a.score for a in theirs], atol=1e-4, rtol=0)
        np.testing.assert_allclose([a.probability for a in ours], [a.probability for a in theirs], atol=1e-5)


def test_the_accelerator_plan_batches_by_tokens_alone(tiny_bert: Path, squad_dev_half: Path) -> None:
    questions, documents = _cases(squad_dev_half)
    reader = _reader(tiny_bert, ACCELERATOR_ON_CPU, max_batch_tokens=4000)
    shapes: list[tuple[int, int]] = []
    model = reader._model
    forward = model.forward
    model.forward = lambda **inputs: shapes.append(tuple(inputs["input_ids"].shape)) or forward(**inputs)
    reader.run_batch(questions, documents)
    assert max(rows for rows, _ in shapes) > 32  # no window count: more than the CPU's 32 in a batch
    assert all(rows * width <= 4000 for rows, width in shapes)
    widths = [width for _, width in shapes]
    assert widths == sorted(widths, reverse=True)  # one chunk: longest first


def test_an_error_in_the_worker_is_the_readers_one_line_error(
    tiny_bert: Path, squad_dev_half: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions, documents = _cases(squad_dev_half)
    reader = _reader(tiny_bert, dataclasses.replace(ACCELERATOR_ON_CPU, chunk_pairs=5))
    windows = PairTokenizer.windows
    calls: list[str] = []

    def failing_third(self: PairTokenizer, *args: object, **kwargs: object) -> object:
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise RuntimeError("tokenizer exploded\non two lines")
        return windows(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PairTokenizer, "windows", failing_third)
    with pytest.raises(ComponentError) as caught:
        reader.run_batch(questions, documents)
    assert str(caught.value) == "ExtractiveReader: reading failed (RuntimeError: tokenizer exploded on two lines)"
    assert set(calls) == {"docqa-prefetch"}  # it really happened on the worker thread
    assert not [thread for thread in threading.enumerate() if thread.name == "docqa-prefetch"]
    monkeypatch.setattr(PairTokenizer, "windows", windows)
    assert len(reader.run_batch(questions[:3], documents[:3])["answers"]) == 3  # the reader still works


def test_device_plans() -> None:
    cpu, cuda, mps = (DevicePlan.of(kind) for kind in ("cpu", "cuda", "mps"))
    assert (cpu.batch_size, cpu.batch_tokens, cpu.prefetch, cpu.pin_memory) == (32, 512, 0, False)
    assert (cuda.batch_size, cuda.batch_tokens, cuda.chunk_pairs, cuda.decode_tokens, cuda.prefetch) == (
        None,
        65_536,
        512,
        0,
        2,
    )
    assert cuda.pin_memory
    assert mps.batch_size is None and not mps.pin_memory


def test_chunks_bound_distinct_text_pair_text_and_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    from docqa.readers import inference

    monkeypatch.setattr(inference, "CHARS_PER_CHUNK", 1000)
    monkeypatch.setattr(inference, "PAIR_CHARS_PER_CHUNK", 5000)
    shared, other = Document("s" * 400), [Document(f"{i} " * 100) for i in range(20)]
    documents = [[shared, other[i], Document("  \n")] for i in range(20)]
    chunks = list(inference.chunked_pairs(documents, most=1000))
    pairs = [pair for chunk in chunks for pair in chunk]
    assert pairs == [(i, d) for i in range(20) for d in (0, 1)]  # every non-blank pair once, in order
    for chunk in chunks:
        texts = [documents[i][d].content for i, d in chunk]
        distinct = sum(len(t) for t in set(texts))
        # a chunk closes at the pair that reaches a bound: without it, both bounds hold
        assert sum(len(t) for t in set(texts[:-1])) < 1000 and sum(len(t) for t in texts[:-1]) < 5000
        assert distinct >= 1000 or chunk is chunks[-1] or sum(map(len, texts)) >= 5000
    shared_only = [[shared] for _ in range(40)]  # one document read for 40 questions: the pairs' text decides
    assert [len(chunk) for chunk in inference.chunked_pairs(shared_only, most=1000)] == [13, 13, 13, 1]
    assert [len(chunk) for chunk in inference.chunked_pairs(shared_only, most=6)] == [6] * 6 + [4]
