"""Answering question-answering requests with an :class:`~docqa.readers.ExtractiveReader`, in the model cards'
response shapes (see :mod:`docqa.formats.responses`).

Each ``(question, context)`` pair is answered from that context alone: ``score`` is the reader's probability
(a softmax over the pair's candidate spans and its null score, as transformers' old pipeline normalized over
the context and ``[CLS]``), ``start``/``end`` are character offsets into the given context. By default the
best span is returned even when the model prefers "no answer" (``handle_impossible_answer=False``, as the
cards and transformers do); with ``handle_impossible_answer=True`` a winning no-answer is
``{"answer": "", "start": 0, "end": 0, "score": its probability}``.

The reading itself is :func:`pair_inputs` and :func:`reader_top_k` handed to a reader configured with
``request.options.reader_settings()`` (:meth:`ExtractiveReader.with_settings`): ``docqa batch`` calls the reader,
the server its micro-batcher; both shape the answers with :func:`qa_response`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docqa.formats.requests import QAParameters, QARequest, answering_errors
from docqa.formats.responses import QAAnswer, QAResponse
from docqa.schema import Answer, Document


def reader_top_k(options: QAParameters) -> int:
    """The answers to ask the reader for: one more than ``top_k``, so that ``top_k`` spans remain when the
    no-answer ranks among them."""
    return options.top_k + 1


def pair_inputs(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[list[Document]]]:
    """The reader's ``run_batch`` inputs for ``pairs``: the questions, and each context as its one document."""
    return [question for question, _ in pairs], [[Document(context)] for _, context in pairs]


def answer_pairs(reader: Any, pairs: Sequence[tuple[str, str]], options: QAParameters) -> list[list[Answer]]:
    """The reader's answers (no-answer included, best first, ``reader_top_k`` at most) of each pair, all pairs
    read in one batch by ``reader`` configured with the request's settings."""
    questions, documents = pair_inputs(pairs)
    with answering_errors():
        configured = reader.with_settings(options.reader_settings())
        return list(configured.run_batch(questions, documents, top_k=reader_top_k(options))["answers"])


def span_response(answer: Answer, context: str) -> QAAnswer:
    """The ``{"score", "start", "end", "answer"}`` of an answer (offsets as the reader found them: whole words
    with ``align_to_words``, raw token offsets without); the no-answer as ``""`` at ``0, 0``."""
    if answer.is_no_answer or answer.document_span is None:
        return QAAnswer(score=answer.probability, start=0, end=0, answer="")
    start, end = answer.document_span.start, answer.document_span.end
    return QAAnswer(score=answer.probability, start=start, end=end, answer=context[start:end])


def pair_responses(answers: list[Answer], context: str, options: QAParameters) -> list[QAAnswer]:
    """The ``top_k`` responses of one pair: spans only, unless ``handle_impossible_answer`` lets the
    no-answer rank among them."""
    if not options.handle_impossible_answer:
        answers = [answer for answer in answers if not answer.is_no_answer]
    chosen = [span_response(answer, context) for answer in answers[: options.top_k]]
    return chosen if chosen else [QAAnswer(score=0.0, start=0, end=0, answer="")]


def qa_response(request: QARequest, found: Sequence[list[Answer]]) -> QAResponse:
    """The response to ``request`` given the reader's answers of its pairs (see :mod:`docqa.formats.responses`
    for the shapes)."""
    options = request.options
    contexts = [context for _, context in request.pairs()]
    responses = [pair_responses(answers, context, options) for answers, context in zip(found, contexts, strict=True)]
    if options.response_format == "keyed":
        return [{str(rank): item.answer for rank, item in enumerate(items)} for items in responses]
    if request.single:
        one = responses[0]
        return one[0] if request.style == "hugging-face" and options.top_k == 1 else one
    if options.top_k == 1:
        return [items[0] for items in responses]
    return responses


def answer_qa_request(request: QARequest, reader: Any) -> QAResponse:
    """:func:`qa_response` to ``request``, read by ``reader``."""
    return qa_response(request, answer_pairs(reader, request.pairs(), request.options))
