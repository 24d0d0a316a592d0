"""Processing a chunk of batch records: model calls batched across the records, one output line per record.

:func:`process_records` is a plain function of picklable records and an engine, so a distributed runner can map
it over chunks (each worker building its own engine with :func:`build_engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.answers import batch_line
from docqa.errors import DocqaError
from docqa.fill_mask.encoding import EncodedText, FillMaskInputError
from docqa.formats.fill_mask import predictions_response, request_targets
from docqa.formats.question_answering import answer_pairs, pair_response
from docqa.formats.requests import FillMaskParameters, QAParameters, Task
from docqa.formats.responses import jsonable
from docqa.schema import Answer, Document


@dataclass
class BatchEngine:
    """The models a batch runs with.

    ``reader`` reads questions that come with a context; ``qa_pipeline`` (an
    :class:`~docqa.pipelines.ExtractiveQAPipeline`) retrieves passages for questions without one.
    ``options`` are a request body's parameters: records then get the model-card response shape, read by
    ``reader.with_settings(options.reader_settings())`` (the loaded model, the request's settings).
    """

    task: Task
    reader: Any = None
    qa_pipeline: Any = None
    fill_mask: Any = None
    options: QAParameters | FillMaskParameters | None = None


@dataclass(frozen=True)
class EngineConfig:
    """How to build a :class:`BatchEngine` (what a worker process needs to build its own)."""

    task: Task
    model: str | None = None
    store: str | None = None  # a store directory or a PostgreSQL DSN (postgresql://..., env:VAR)
    pipeline: Path | None = None
    top_k: int = 5
    dtype: str | None = None  # the models' precision (docqa.hub.resolve_dtype); None: "auto", or the pipeline's


def build_engine(config: EngineConfig, options: QAParameters | FillMaskParameters | None = None) -> BatchEngine:
    """The engine of ``config``; models are loaded (``warm_up``) here, once."""
    if config.task == "fill-mask":
        from docqa.fill_mask import DEFAULT_FILL_MASK_MODEL, FillMask

        model = DEFAULT_FILL_MASK_MODEL if config.model is None else config.model
        fill_mask = FillMask(model=model, top_k=config.top_k, dtype=config.dtype or "auto")
        fill_mask.warm_up()
        return BatchEngine("fill-mask", fill_mask=fill_mask, options=options)
    qa_pipeline = _qa_pipeline(config)
    reader = qa_pipeline.pipeline.get_component(qa_pipeline.reader) if qa_pipeline is not None else _reader(config)
    reader.warm_up()
    return BatchEngine("qa", reader=reader, qa_pipeline=qa_pipeline, options=options)


def _reader(config: EngineConfig) -> Any:
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL, ExtractiveReader

    return ExtractiveReader(
        model=DEFAULT_READER_MODEL if config.model is None else config.model, dtype=config.dtype or "auto"
    )


def _qa_pipeline(config: EngineConfig) -> Any:
    from docqa.core.pipeline import Pipeline
    from docqa.document_stores.opening import open_document_store
    from docqa.pipelines import ExtractiveQAPipeline
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL

    if config.pipeline is not None:
        reader = {
            name: value for name, value in (("model", config.model), ("dtype", config.dtype)) if value is not None
        }
        overrides = {"reader": reader} if reader else None
        return ExtractiveQAPipeline.from_pipeline(Pipeline.load(config.pipeline, overrides=overrides))
    if config.store is not None:
        model = DEFAULT_READER_MODEL if config.model is None else config.model
        parameters = {"dtype": config.dtype or "auto"}
        return ExtractiveQAPipeline.bm25(open_document_store(config.store), model=model, reader_parameters=parameters)
    return None


def process_records(records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
    """One output line per record, in order. The records' model calls are batched together; when the batch
    fails, each record is retried alone, so only the bad one gets ``{"id", "error"}``."""
    if not records:
        return []
    try:
        return _process(records, engine)
    except DocqaError as error:
        if len(records) == 1:
            return [error_line(records[0], str(error))]
        return [line for record in records for line in process_records([record], engine)]


def error_line(record: dict[str, Any], message: str) -> dict[str, Any]:
    return {"id": record.get("id"), "error": message}


def _process(records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
    if engine.task == "fill-mask":
        return _fill_mask_lines(records, engine)
    lines: dict[int, dict[str, Any]] = {}
    with_context = [i for i, record in enumerate(records) if "context" in record]
    retrieved = [i for i, record in enumerate(records) if "context" not in record]
    lines.update(zip(with_context, _context_lines([records[i] for i in with_context], engine), strict=True))
    lines.update(zip(retrieved, _retrieved_lines([records[i] for i in retrieved], engine), strict=True))
    return [lines[i] for i in range(len(records))]


def _context_lines(records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
    if not records:
        return []
    if isinstance(engine.options, QAParameters):
        pairs = [(record["question"], record["context"]) for record in records]
        found = answer_pairs(engine.reader, pairs, engine.options)
        return [_response_line(r["id"], a, r["context"], engine.options) for r, a in zip(records, found, strict=True)]
    questions = [record["question"] for record in records]
    documents = [[Document(record["context"])] for record in records]
    answers = engine.reader.run_batch(questions, documents)["answers"]
    return [batch_line(record["id"], found[0], False) for record, found in zip(records, answers, strict=True)]


def _response_line(record_id: Any, answers: list[Answer], context: str, options: QAParameters) -> dict[str, Any]:
    """The cards' answer of one pair (:func:`~docqa.formats.question_answering.pair_response`) as a line: its
    keys beside ``id`` (one answer, or the keyed form), or ``{"id", "answers": [...]}`` for a list."""
    shaped = jsonable(pair_response(answers, context, options))
    return {"id": record_id, **shaped} if isinstance(shaped, dict) else {"id": record_id, "answers": shaped}


def _retrieved_lines(records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
    if not records:
        return []
    if engine.qa_pipeline is None:
        message = "no context given and no --store or --pipeline to retrieve passages from"
        return [error_line(record, message) for record in records]
    results = engine.qa_pipeline.run_batch([record["question"] for record in records])
    lines = zip(records, results, strict=True)
    return [batch_line(record["id"], result["answers"][0], True) for record, result in lines]


def _fill_mask_lines(records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
    lines: dict[int, dict[str, Any]] = {}
    encoded: list[tuple[int, EncodedText]] = []
    for i, record in enumerate(records):
        try:
            encoded.append((i, engine.fill_mask.encode(record["input_string"], i)))
        except FillMaskInputError as error:
            lines[i] = error_line(record, f"input_string {error.reason}")
    top_k, targets = None, None
    if isinstance(engine.options, FillMaskParameters):
        top_k, targets = engine.options.top_k, request_targets(engine.options)
    found = engine.fill_mask.predict_encoded([text for _, text in encoded], top_k=top_k, targets=targets)
    for (i, _), per_mask in zip(encoded, found, strict=True):
        lines[i] = {"id": records[i]["id"], "predictions": jsonable(predictions_response(per_mask))}
    return [lines[i] for i in range(len(records))]
