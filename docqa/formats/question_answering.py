"""Answering question-answering requests with an :class:`~docqa.readers.ExtractiveReader`, in the model cards'
response shapes (see :mod:`docqa.formats.responses`).

Each ``(question, context)`` pair is answered from that context alone: ``score`` is the reader's probability
(a softmax over the pair's candidate spans and its null score, as transformers' old pipeline normalized over
the context and ``[CLS]``), ``start``/``end`` are character offsets into the given context. By default the
best span is returned even when the model prefers "no answer" (``handle_impossible_answer=False``, as the
cards and transformers do); with ``handle_impossible_answer=True`` a winning no-answer is
``{"answer": "", "start": 0, "end": 0, "score": its probability}``. Answers are one per span
(``ReaderSettings.group_by="span"``), whatever the reader answering groups by.

The reading itself is :func:`reader_inputs` handed to the ``run_batch`` of a reader configured with
``request.options.reader_settings()`` (:meth:`ExtractiveReader.with_settings`): ``docqa batch`` calls the reader
(:func:`answer_pairs`), the server its micro-batcher; both shape the answers with :func:`pair_response`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from docqa.answers import keyed_answers
from docqa.formats.requests import QAParameters, QARequest, answering_errors
from docqa.formats.responses import KeyedAnswers, QAAnswer, QAResponse
from docqa.schema import Answer, Document


def reader_inputs(pairs: Sequence[tuple[str, str]], options: QAParameters) -> dict[str, Any]:
    """The reader's ``run_batch`` arguments for ``pairs``: the questions, each context as its one document, and
    ``top_k`` (the reader's ``top_k`` counts answers; the no-answer entry comes besides them)."""
    return {
        "query": [question for question, _ in pairs],
        "documents": [[Document(context)] for _, context in pairs],
        "top_k": options.top_k,
    }


def answer_pairs(reader: Any, pairs: Sequence[tuple[str, str]], options: QAParameters) -> list[list[Answer]]:
    """The reader's answers (no-answer included, best first) of each pair, all pairs read in one batch by
    ``reader`` configured with the request's settings."""
    with answering_errors():
        configured = reader.with_settings(options.reader_settings())
        return list(configured.run_batch(**reader_inputs(pairs, options))["answers"])


def span_response(answer: Answer, context: str) -> QAAnswer:
    """The ``{"score", "start", "end", "answer"}`` of an answer (offsets as the reader found them: whole words
    with ``align_to_words``, raw token offsets without); the no-answer as ``""`` at ``0, 0``."""
    if answer.is_no_answer or answer.passage_span is None:
        return QAAnswer(score=answer.probability, start=0, end=0, answer="")
    start, end = answer.passage_span.start, answer.passage_span.end
    return QAAnswer(score=answer.probability, start=start, end=end, answer=context[start:end])


def pair_response(
    answers: list[Answer], context: str, options: QAParameters
) -> QAAnswer | list[QAAnswer] | KeyedAnswers:
    """One pair's answer in the cards' shape: the keyed ``{"0": best, "1": next...}``
    (:func:`docqa.answers.keyed_answers`) with ``response_format="keyed"``, else one object at ``top_k`` 1 and a
    list of ``top_k`` above. Spans only, unless ``handle_impossible_answer`` lets the no-answer rank among them."""
    if not options.handle_impossible_answer:
        answers = [answer for answer in answers if not answer.is_no_answer]
    items = [span_response(answer, context) for answer in answers[: options.top_k]]
    items = items or [QAAnswer(score=0.0, start=0, end=0, answer="")]
    if options.response_format == "keyed":
        return keyed_answers([item.answer for item in items])
    return items[0] if options.top_k == 1 else items


def qa_response(request: QARequest, found: Sequence[list[Answer]]) -> QAResponse:
    """The response to ``request`` given the reader's answers of its pairs: one :func:`pair_response` per pair,
    in a list, except for one pair given as plain strings (``request.single``) answered with a list of ``top_k``
    above 1, or as the Hugging Face Inference API answers it (one object at ``top_k`` 1)."""
    options = request.options
    contexts = [context for _, context in request.pairs()]
    shaped = [pair_response(answers, context, options) for answers, context in zip(found, contexts, strict=True)]
    if request.single and options.response_format != "keyed":
        return cast(QAResponse, shaped[0] if request.style == "hugging-face" or options.top_k > 1 else shaped)
    return cast(QAResponse, shaped)


def answer_qa_request(request: QARequest, reader: Any) -> QAResponse:
    """:func:`qa_response` to ``request``, read by ``reader``."""
    return qa_response(request, answer_pairs(reader, request.pairs(), request.options))
