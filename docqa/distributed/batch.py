"""Batch question answering (and fill-mask) on Ray Data: reading as one ``map_batches`` over an actor pool.

Each actor builds its own engine (:func:`docqa.batch.build_engine`, one model load per actor) and answers whole
batches with :func:`docqa.batch.process_records`, so every record gets the line the local ``docqa batch`` writes.
The lines come back in input order and are written by :func:`docqa.batch.run_batch_file` (its ``processor``
hook): flushing per chunk, error lines and ``--resume`` are those of the local run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docqa.batch import BatchEngine, BatchInput, BatchSummary, EngineConfig, build_engine, process_records
from docqa.batch.outputs import BatchOutput
from docqa.batch.runner import run_batch_file
from docqa.errors import DocqaError
from docqa.formats.requests import FillMaskParameters, QAParameters, Task

Options = QAParameters | FillMaskParameters | None


class ReadActor:
    """Ray actor: an engine built once, answering batches of JSON-encoded records into JSON-encoded lines.

    Records travel as JSON text (``record`` column) so that ids of mixed types (``1``, ``"a"``) survive Arrow.
    """

    def __init__(self, config: EngineConfig, options: Options) -> None:
        self.engine = build_engine(config, options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        records = [json.loads(str(text)) for text in batch["record"]]
        lines = process_records(records, self.engine)
        return {"line": [json.dumps(line, ensure_ascii=False) for line in lines]}


class RayProcessor:
    """A :data:`~docqa.batch.runner.Processor` answering ``records`` on a Ray actor pool, streamed in order.

    The dataset over all ``records`` starts on the first call; each call takes the next ``len(chunk)`` lines,
    so ``chunk`` must be the next records of ``records`` (as :func:`run_batch_file` hands them out).
    """

    def __init__(self, records: Sequence[dict[str, Any]], config: EngineConfig, options: Options, *,
                 actors: int, batch_size: int, num_gpus: float = 0.0) -> None:  # fmt: skip
        self.records, self.config, self.options = list(records), config, options
        self.actors, self.batch_size, self.num_gpus = actors, batch_size, num_gpus
        self._lines: Iterator[dict[str, Any]] | None = None
        self._taken = 0

    def __call__(self, chunk: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
        if self._lines is None:
            self._lines = self._stream()
        try:
            lines = [next(self._lines) for _ in chunk]
        except StopIteration:
            raise DocqaError("Ray batch: fewer answers came back than records were sent") from None
        for record, line in zip(chunk, lines, strict=True):
            if line.get("id") != record.get("id"):
                raise DocqaError(f"Ray batch: answer for id {line.get('id')!r} came back for {record.get('id')!r}")
        self._taken += len(lines)
        if self._taken == len(self.records) and next(self._lines, None) is not None:  # ends the Ray iterator too
            raise DocqaError("Ray batch: more answers came back than records were sent")
        return lines

    def _stream(self) -> Iterator[dict[str, Any]]:
        from docqa.distributed.runtime import init_ray

        ray = init_ray()
        texts = [{"record": json.dumps(record, ensure_ascii=False)} for record in self.records]
        blocks = max(1, min(len(texts) // self.batch_size, 4 * self.actors))
        answered = ray.data.from_items(texts, override_num_blocks=blocks).map_batches(
            ReadActor,
            fn_constructor_args=(self.config, self.options),
            batch_size=self.batch_size,
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_gpus=self.num_gpus or None,
        )
        try:
            for row in answered.iter_rows():
                yield json.loads(row["line"])
        except Exception as error:  # a model that fails to load on an actor, a lost actor: one line
            if isinstance(error, DocqaError):
                raise
            raise DocqaError(f"Ray batch failed: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "cause", None)
    if isinstance(cause, DocqaError):
        return str(cause)
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def pending_records(batch_input: BatchInput, out: Path, resume: bool, task: Task = "qa") -> list[dict[str, Any]]:
    """The records :func:`run_batch_file` will process, in order (with ``resume``: those ``out`` holds no answer
    for yet)."""
    output = BatchOutput.for_path(out, task, batch_input.options)
    pending = output.pending(batch_input.lines, output.done_keys() if resume else set())
    return [line.record for line in pending if line.record is not None]


def ray_batch(
    batch_input: BatchInput,
    out: Path,
    config: EngineConfig,
    *,
    resume: bool = False,
    actors: int = 2,
    batch_size: int = 64,
    num_gpus: float = 0.0,
    progress: bool = False,
) -> BatchSummary:
    """Answer ``batch_input`` into ``out`` on Ray: ``actors`` actors (``ray.data.ActorPoolStrategy``), each
    loading the models of ``config`` once and answering ``batch_size`` records per model call (``num_gpus`` per
    actor: give an explicit ``batch_size`` with GPUs). The output equals the local run's; see :func:`run_batch_file`.

    ``RAY_ADDRESS`` selects a cluster, otherwise a local Ray is started (:func:`docqa.distributed.init_ray`).
    """
    records = pending_records(batch_input, out, resume, config.task)
    processor = RayProcessor(records, config, batch_input.options, actors=actors, batch_size=batch_size,
                             num_gpus=num_gpus)  # fmt: skip
    driver = BatchEngine(config.task, options=batch_input.options)  # no models on the driver
    return run_batch_file(batch_input, out, driver, resume=resume, chunk_size=batch_size, progress=progress,
                          processor=processor)  # fmt: skip
