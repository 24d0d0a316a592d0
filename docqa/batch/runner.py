"""Running a batch file: chunks of records through :func:`~docqa.batch.engine.process_records`, each output
line written and flushed as soon as its chunk is done, ``--resume`` skipping what the output already holds."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docqa.batch.engine import BatchEngine, process_records
from docqa.batch.records import BatchInput, InputLine
from docqa.errors import RequestError

#: ``process_records`` or anything with its signature (e.g. a distributed map over chunks).
Processor = Callable[[Sequence[dict[str, Any]], BatchEngine], list[dict[str, Any]]]


@dataclass(frozen=True)
class BatchSummary:
    done: int
    skipped: int
    failed: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 2),
        }


def output_key(line: dict[str, Any]) -> str:
    """The key of an output line, as :attr:`InputLine.key` computes it for its input."""
    found = line.get("id")
    return f"id:{found!r}" if found is not None else f"line:{line.get('line')}"


def completed_keys(out: Path) -> set[str]:
    """The keys of the lines already in ``out``. A last line cut off by a killed run is removed from the file
    (its record runs again); any other line that is not a JSON object is an error naming it."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with out.open("r+b") as handle:
            handle.truncate(len(complete))
    keys = set()
    for number, raw in enumerate(complete.decode("utf-8", errors="replace").splitlines(), start=1):
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            raise RequestError(f"{out} line {number} is not JSON: cannot resume from this output") from None
        if not isinstance(line, dict):
            raise RequestError(f"{out} line {number} is not a JSON object: cannot resume from this output")
        keys.add(output_key(line))
    return keys


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
    """Answer every record of ``batch_input`` into ``out`` (JSONL, appended), ``chunk_size`` records per model
    call; a killed run loses at most the chunk in flight. With ``resume``, records whose key is already in
    ``out`` are skipped; without it ``out`` is started afresh."""
    done_keys = completed_keys(out) if resume else set()
    pending = [line for line in batch_input.lines if line.key not in done_keys]
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    failed = 0
    with out.open("a" if resume else "w", encoding="utf-8") as handle, _progress(len(pending), progress) as bar:
        for chunk in _chunks(pending, chunk_size):
            for line in _answered(chunk, engine, processor):
                _write(handle, line)
                failed += "error" in line
                bar.update(1)
    return BatchSummary(len(pending), len(batch_input.lines) - len(pending), failed, time.perf_counter() - started)


def _answered(chunk: Sequence[InputLine], engine: BatchEngine, processor: Processor) -> list[dict[str, Any]]:
    """The output lines of ``chunk`` in input order: error lines as they are, records through ``processor``."""
    records = [line.record for line in chunk if line.record is not None]
    answered = iter(processor(records, engine))
    return [line.error if line.error is not None else next(answered) for line in chunk]


def _write(handle: IO[str], line: dict[str, Any]) -> None:
    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    handle.flush()


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, unit="rec", file=sys.stderr, disable=not enabled, dynamic_ncols=True)
