"""Answering question-answering requests with an :class:`~docqa.readers.ExtractiveReader`, in the model cards'
response shapes.

Each ``(question, context)`` pair is answered from that context alone: ``score`` is the reader's probability
(a softmax over the pair's candidate spans and its null score, as transformers' old pipeline normalized over
the context and ``[CLS]``), ``start``/``end`` are character offsets into the given context. By default the
best span is returned even when the model prefers "no answer" (``handle_impossible_answer=False``, as the
cards and transformers do); with ``handle_impossible_answer=True`` a winning no-answer is
``{"answer": "", "start": 0, "end": 0, "score": its probability}``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from docqa.errors import ComponentError, RequestError
from docqa.formats.requests import QAParameters, QARequest
from docqa.schema import Answer, Document


def configured_reader(reader: Any, options: QAParameters) -> Any:
    """``reader`` itself when its settings match ``options``, else a copy sharing its loaded model whose
    window settings and ``align_to_words`` are ``options``'; the copy always scores the no-answer
    (``no_answer=True``, so that ``handle_impossible_answer`` can rank it)."""
    from docqa.readers.extractive_reader import ExtractiveReader

    settings = {
        "doc_stride": options.doc_stride,
        "max_seq_len": options.max_seq_len,
        "max_query_length": options.max_question_len,
        "max_answer_length": options.max_answer_len,
        "align_to_words": options.align_to_words,
        "no_answer": True,
    }
    if all(getattr(reader, name) == value for name, value in settings.items()):
        return reader
    if isinstance(reader, ExtractiveReader):
        from docqa.core.component import init_parameters

        ExtractiveReader(**{**init_parameters(reader), **settings})  # validates the combination, loads nothing
    reader.warm_up()  # load once, in the original, so that the copy shares the model
    configured = copy.copy(reader)
    for name, value in settings.items():
        setattr(configured, name, value)
    return configured


def answer_pairs(reader: Any, pairs: Sequence[tuple[str, str]], options: QAParameters) -> list[list[Answer]]:
    """The reader's answers (no-answer included, best first, ``top_k + 1`` at most) of each pair, all pairs
    read in one batch."""
    configured = configured_reader(reader, options)
    questions = [question for question, _ in pairs]
    documents = [[Document(context)] for _, context in pairs]
    try:
        return configured.run_batch(questions, documents, top_k=options.top_k + 1)["answers"]
    except (IndexError, RuntimeError) as error:  # e.g. max_seq_len beyond the model's positions
        raise RequestError(f"invalid request: the model cannot read windows of these parameters ({error})") from None


def span_response(answer: Answer, context: str) -> dict[str, Any]:
    """``{"score", "start", "end", "answer"}`` of a span answer (offsets as the reader found them: whole
    words with ``align_to_words``, raw token offsets without); the no-answer as ``""`` at ``0, 0``."""
    if answer.is_no_answer or answer.document_span is None:
        return {"score": answer.probability, "start": 0, "end": 0, "answer": ""}
    start, end = answer.document_span.start, answer.document_span.end
    return {"score": answer.probability, "start": start, "end": end, "answer": context[start:end]}


def pair_responses(answers: list[Answer], context: str, options: QAParameters) -> list[dict[str, Any]]:
    """The ``top_k`` responses of one pair: spans only, unless ``handle_impossible_answer`` lets the
    no-answer rank among them."""
    if not options.handle_impossible_answer:
        answers = [answer for answer in answers if not answer.is_no_answer]
    chosen = [span_response(answer, context) for answer in answers[: options.top_k]]
    return chosen if chosen else [{"score": 0.0, "start": 0, "end": 0, "answer": ""}]


def answer_qa_request(request: QARequest, reader: Any) -> list[Any]:
    """The response to ``request``: per pair one ``{"score", "start", "end", "answer"}`` (a list of
    ``top_k`` of them when ``top_k > 1``); for one plain-string pair, the list of its answers; with
    ``response_format="keyed"``, per pair ``{"0": answer, "1": ...}``."""
    options = request.options
    pairs = request.pairs()
    try:
        found = answer_pairs(reader, pairs, options)
    except ComponentError as error:
        raise RequestError(f"invalid request: {error}") from None
    responses = [pair_responses(answers, context, options) for answers, (_, context) in zip(found, pairs, strict=True)]
    if options.response_format == "keyed":
        return [{str(rank): item["answer"] for rank, item in enumerate(items)} for items in responses]
    if request.single:
        return responses[0]
    return [items[0] if options.top_k == 1 else items for items in responses]
