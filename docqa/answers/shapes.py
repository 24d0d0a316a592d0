"""The JSON shapes of answers (see the package doc).

One answer (``answer_json``)::

    {"text": "Vistula", "no_answer": false, "score": 9.8, "probability": 0.31,
     "document_id": "<the passage's id>", "source_id": "<the source document's id>",
     "source_span": {"start": 4667, "end": 4674},   # offsets into the source document (the file)
     "passage_span": {"start": 214, "end": 221},    # offsets into passage.content
     "passage": {"id", "content", "meta", "score"},
     "sources": [{"document_id", "source_id", "source_span", "passage_span", "score", "probability", "meta"}, ...],
     "meta": {}}

``sources`` lists every place the answer was found (one for a span found once; several for the same characters in
overlapping passages, or, with ``group_by="text"``, for every place of its text), best first. The no-answer is
``{"text": null, "no_answer": true, ...}`` with null offsets, no passage, no sources and ``meta.no_answer_margin``.
Until the release after 0.1 the keys of 0.1 are there too: ``query``, ``document`` (the passage with its embedding),
``span`` (= ``source_span``) and ``document_span`` (= ``passage_span``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from docqa.schema import Answer, AnswerSource, Document, Span


def _span(span: Span | None) -> dict[str, int] | None:
    return span.to_dict() if span is not None else None


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats (JSON has none) as ``None``, inside lists and dicts too."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def passage_json(document: Document) -> dict[str, Any]:
    """A passage as answers carry it: ``{"id", "content", "meta", "score"}`` (no embedding)."""
    return {
        "id": document.id,
        "content": document.content,
        "meta": _finite(document.meta),
        "score": _finite(document.score),
    }


def source_json(source: AnswerSource) -> dict[str, Any]:
    """One place of an answer: the passage's id and meta, its source, both offsets, its score and share."""
    return {
        "document_id": source.document.id,
        "source_id": source.source_id,
        "source_span": source.span.to_dict(),
        "passage_span": source.document_span.to_dict(),
        "score": _finite(source.score),
        "probability": source.probability,
        "meta": _finite(source.document.meta),
    }


def answer_json(answer: Answer, *, deprecated_keys: bool = True) -> dict[str, Any]:
    """``answer`` in the shape of the module doc; ``deprecated_keys=False`` leaves out the keys of 0.1."""
    document = answer.document
    shape: dict[str, Any] = {
        "text": answer.text,
        "no_answer": answer.is_no_answer,
        "score": _finite(answer.score),
        "probability": answer.probability,
        "document_id": document.id if document is not None else None,
        "source_id": answer.source_id,
        "source_span": _span(answer.source_span),
        "passage_span": _span(answer.passage_span),
        "passage": passage_json(document) if document is not None else None,
        "sources": [source_json(source) for source in answer.sources],
        "meta": _finite(answer.meta),
    }
    if deprecated_keys:
        shape.update(
            query=answer.query,
            document=_finite(document.to_dict()) if document is not None else None,
            span=_span(answer.span),
            document_span=_span(answer.document_span),
        )
    return shape


def answers_json(question: str, answers: Sequence[Answer]) -> dict[str, Any]:
    """``{"question", "answers": [answer_json, ...]}``: what ``docqa ask --json`` prints."""
    return {"question": question, "answers": [answer_json(answer) for answer in answers]}


def batch_line(record_id: Any, answer: Answer, with_document: bool) -> dict[str, Any]:
    """A ``docqa batch`` output line: ``{"id", "answer", "score", "start", "end"}`` (``answer: null`` for no
    answer; ``score`` is the probability; offsets into the source document), plus ``document_id`` (the source
    document's id) when the answer was retrieved from a store."""
    span = answer.source_span
    line: dict[str, Any] = {"id": record_id, "answer": answer.text, "score": answer.probability}
    line["start"] = span.start if span is not None else None
    line["end"] = span.end if span is not None else None
    if with_document:
        line["document_id"] = answer.source_id
    return line


def keyed_answers(texts: Sequence[str]) -> dict[str, str]:
    """The model cards' keyed response of one pair: ``{"0": best answer, "1": next, ...}``."""
    return {str(rank): text for rank, text in enumerate(texts)}
