"""The model cards' real-time request and response formats, for ``docqa batch`` and the server.

>>> request = parse_score_request({"inputs": "Paris is the [MASK] of France.", "parameters": {"top_k": 2}})
>>> request.task, request.texts(), request.options.top_k
('fill-mask', ['Paris is the [MASK] of France.'], 2)
"""

from __future__ import annotations

from typing import Any

from docqa.errors import RequestError
from docqa.formats.fill_mask import answer_fill_mask_request
from docqa.formats.question_answering import answer_qa_request
from docqa.formats.requests import (
    FillMaskParameters,
    FillMaskRequest,
    QAParameters,
    QARequest,
    ScoreRequest,
    ScoreRequestBody,
    Task,
    detect_task,
    parse_score_request,
)
from docqa.formats.responses import FillMaskPrediction, QAAnswer, ScoreResponse, jsonable


def score_response(request: ScoreRequest, reader: Any = None, fill_mask: Any = None) -> ScoreResponse:
    """The model-card response to a parsed request (pydantic models): QA with ``reader``, fill-mask with
    ``fill_mask``.

    Raises :class:`RequestError` when the request is for a task with no model here, or its content cannot be
    answered (a text without a mask token, a too-long text...)."""
    if isinstance(request, QARequest):
        if reader is None:
            raise RequestError("invalid request: this is a question-answering request and no reader is loaded")
        return answer_qa_request(request, reader)
    if fill_mask is None:
        raise RequestError("invalid request: this is a fill-mask request and no fill-mask model is loaded")
    return answer_fill_mask_request(request, fill_mask)


def answer_score_request(request: ScoreRequest, reader: Any = None, fill_mask: Any = None) -> Any:
    """:func:`score_response` as plain JSON values (what ``POST /score`` sends)."""
    return jsonable(score_response(request, reader, fill_mask))


__all__ = [
    "FillMaskParameters",
    "FillMaskPrediction",
    "FillMaskRequest",
    "QAAnswer",
    "QAParameters",
    "QARequest",
    "RequestError",
    "ScoreRequest",
    "ScoreRequestBody",
    "ScoreResponse",
    "Task",
    "answer_score_request",
    "detect_task",
    "parse_score_request",
    "score_response",
]
