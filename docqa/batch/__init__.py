"""Batch question answering and fill-mask over files: JSONL records or a request body in, JSONL out.

:func:`process_records` answers one chunk of records with a :class:`BatchEngine`; :func:`run_batch_file` runs a
whole input with progress, per-chunk flushing and resume.
"""

from docqa.batch.engine import BatchEngine, EngineConfig, build_engine, process_records
from docqa.batch.records import BatchInput, InputLine, read_batch_input
from docqa.batch.runner import BatchSummary, run_batch_file

__all__ = [
    "BatchEngine",
    "BatchInput",
    "BatchSummary",
    "EngineConfig",
    "InputLine",
    "build_engine",
    "process_records",
    "read_batch_input",
    "run_batch_file",
]
