"""Running a batch file: chunks of records through :func:`~docqa.batch.engine.process_records`, each output
line written and flushed as soon as its chunk is done (JSON Lines, or CSV: see :mod:`docqa.batch.outputs`),
``--resume`` skipping the records the output already holds an answer for and running the failed ones again."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.batch.engine import BatchEngine, process_records
from docqa.batch.outputs import BatchOutput
from docqa.batch.records import BatchInput, InputLine

#: ``process_records`` or anything with its signature (e.g. a distributed map over chunks).
Processor = Callable[[Sequence[dict[str, Any]], BatchEngine], list[dict[str, Any]]]


@dataclass(frozen=True)
class BatchSummary:
    """``done``: lines written by this run (``failed`` of them errors); ``skipped``: records the output already
    answered (``--resume``); ``duplicates``: records not written because an earlier record has their id."""

    done: int
    skipped: int
    failed: int
    seconds: float
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        """Whether every record got an answer (no error line, no duplicate id)."""
        return self.failed == 0 and self.duplicates == 0

    @property
    def records_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 2),
        }


def completed_keys(out: Path) -> set[str]:
    """The keys (:attr:`InputLine.key`) of the records a JSON Lines output holds an answer for; see
    :meth:`BatchOutput.done_keys` (it drops error lines and a cut last line from the file)."""
    return BatchOutput(out).done_keys()


def _chunks(lines: Sequence[InputLine], size: int) -> Iterator[Sequence[InputLine]]:
    for start in range(0, len(lines), size):
        yield lines[start : start + size]


def run_batch_file(
    batch_input: BatchInput,
    out: Path,
    engine: BatchEngine,
    *,
    resume: bool = False,
    chunk_size: int = 64,
    progress: bool = True,
    processor: Processor = process_records,
) -> BatchSummary:
    """Answer every record of ``batch_input`` into ``out`` (JSON Lines, or CSV when its name ends in ``.csv``),
    ``chunk_size`` records per model call; a killed run loses at most the chunk in flight. With ``resume``, the
    records ``out`` already answered are skipped and those it holds an error for run again (their error lines
    are removed); without it ``out`` is started afresh. Duplicate ids are not written (see
    :attr:`BatchInput.duplicates`)."""
    output = BatchOutput.for_path(out, engine.task, batch_input.options)
    pending = output.pending(batch_input.lines, output.done_keys() if resume else set())
    duplicates = len(batch_input.duplicates)
    started = time.perf_counter()
    failed = 0
    with output.writer(append=resume) as write, _progress(len(pending), progress) as bar:
        for chunk in _chunks(pending, chunk_size):
            for line in _answered(chunk, engine, processor):
                write(line)
                failed += "error" in line
                bar.update(1)
    skipped = len(batch_input.lines) - len(pending) - duplicates
    return BatchSummary(len(pending), skipped, failed, time.perf_counter() - started, duplicates)


def _answered(chunk: Sequence[InputLine], engine: BatchEngine, processor: Processor) -> list[dict[str, Any]]:
    """The output lines of ``chunk`` in input order: error lines as they are, records through ``processor``."""
    records = [line.record for line in chunk if line.record is not None]
    answered = iter(processor(records, engine))
    return [line.error if line.error is not None else next(answered) for line in chunk]


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, unit="rec", file=sys.stderr, disable=not enabled, dynamic_ncols=True)
