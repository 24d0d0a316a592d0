"""Turning one question's span candidates (from all its windows and documents) into ranked answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from docqa.schema import Answer, Document, Span


@dataclass
class QuestionCandidates:
    """Everything the windows of one question produced: span candidates (char offsets into the document
    content) and the lowest null score seen over its windows.

    Built window by window with :meth:`add_window`, or for many questions at once by
    :func:`candidates_of_questions` (the reader's way: no Python per window or per span).
    """

    doc_index: list[np.ndarray] = field(default_factory=list)
    char_start: list[np.ndarray] = field(default_factory=list)
    char_end: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    null_score: float = float("inf")
    #: set by :func:`candidates_of_questions`: the one part of each list already holds the unique spans
    unique: bool = False

    def add_window(
        self,
        doc_index: int,
        offsets: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        scores: np.ndarray,
        null_score: float,
    ) -> None:
        self.doc_index.append(np.full(len(starts), doc_index, dtype=np.int64))
        self.char_start.append(offsets[starts, 0])
        self.char_end.append(offsets[ends, 1])
        self.scores.append(scores)
        self.null_score = min(self.null_score, null_score)
        self.unique = False

    def unique_spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(doc, start, end, score)`` with one row per distinct character span (the best score of the
        windows and token spans that produced it), best first. Spans covering no character are dropped."""
        if not self.scores:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, np.zeros(0)
        if self.unique and len(self.scores) == 1:
            return self.doc_index[0], self.char_start[0], self.char_end[0], self.scores[0]
        doc, start, end, score = (
            np.concatenate(part) for part in (self.doc_index, self.char_start, self.char_end, self.scores)
        )
        question = np.zeros(len(doc), dtype=np.int64)
        doc, start, end, score = _best_first_unique(question, doc, start, end, score)[1:]
        return doc, start, end, score


def candidates_of_questions(
    count: int,
    question: np.ndarray,
    doc: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    score: np.ndarray,
    null_question: np.ndarray,
    null: np.ndarray,
) -> list[QuestionCandidates]:
    """The candidates of questions ``0..count-1`` from flat arrays: span ``i`` (characters ``start[i]:end[i]``
    of document ``doc[i]``, scored ``score[i]``) belongs to question ``question[i]``; a window of question
    ``null_question[j]`` had null score ``null[j]``. Duplicates are merged and spans sorted for all questions
    at once (as :meth:`QuestionCandidates.unique_spans` would, question by question)."""
    question, doc, start, end, score = _best_first_unique(question, doc, start, end, score)
    bounds = np.searchsorted(question, np.arange(count + 1))
    nulls = np.full(count, np.inf)
    np.minimum.at(nulls, null_question, null)
    parts = [slice(bounds[item], bounds[item + 1]) for item in range(count)]
    return [
        QuestionCandidates([doc[part]], [start[part]], [end[part]], [score[part]], float(nulls[item]), unique=True)
        for item, part in enumerate(parts)
    ]


def _best_first_unique(
    question: np.ndarray, doc: np.ndarray, start: np.ndarray, end: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Per question, one row per distinct non-empty span with its best score, best first (ties: by document,
    start, end); questions in increasing order."""
    keep = end > start
    question, doc, start, end, score = question[keep], doc[keep], start[keep], end[keep], score[keep]
    order = np.lexsort((-score, end, start, doc, question))  # per distinct span, its best score comes first
    question, doc, start, end, score = question[order], doc[order], start[order], end[order], score[order]
    first = np.ones(len(doc), dtype=bool)
    first[1:] = (question[1:] != question[:-1]) | (doc[1:] != doc[:-1]) | (start[1:] != start[:-1])
    first[1:] |= end[1:] != end[:-1]
    question, doc, start, end, score = question[first], doc[first], start[first], end[first], score[first]
    best_first = np.lexsort((-score, question))  # stable: equal scores stay in (doc, start, end) order
    return question[best_first], doc[best_first], start[best_first], end[best_first], score[best_first]


def _non_overlapping(doc: np.ndarray, start: np.ndarray, end: np.ndarray, limit: int) -> list[int]:
    """Indices (in the given best-first order) of at most ``limit`` spans, skipping any span that overlaps a
    better span already kept in the same document."""
    kept: list[int] = []
    for i in range(len(doc)):
        overlaps = any(doc[j] == doc[i] and start[i] < end[j] and start[j] < end[i] for j in kept)
        if not overlaps:
            kept.append(i)
            if len(kept) == limit:
                break
    return kept


def rank_answers(
    query: str,
    documents: Sequence[Document],
    candidates: QuestionCandidates,
    top_k: int,
    no_answer: bool,
    no_answer_threshold: float,
) -> list[Answer]:
    """The ``top_k`` best answers of one question, plus (when ``no_answer``) exactly one no-answer entry.

    The no-answer ranks above every span whose ``score - null_score < no_answer_threshold``; when it falls
    outside the ``top_k`` it is appended last, so the list always carries it (and its margin).
    """
    from scipy.special import softmax  # here, not at module level: scipy.special costs every CLI command ~0.2 s

    doc, start, end, score = candidates.unique_spans()
    has_null = no_answer and np.isfinite(candidates.null_score)
    logits = np.append(score, candidates.null_score) if has_null else score
    probability = softmax(logits) if len(logits) else logits
    answers = []
    for i in _non_overlapping(doc, start, end, top_k):
        document = documents[int(doc[i])]
        document_span = Span(int(start[i]), int(end[i]))
        answers.append(
            Answer(
                query=query,
                text=document_span.slice(document.content),
                score=float(score[i]),
                probability=float(probability[i]),
                document=document,
                span=document_span.shift(document.source_span.start),
                document_span=document_span,
            )
        )
    if not no_answer:
        return answers
    return _with_no_answer(
        query,
        answers,
        candidates.null_score if has_null else None,
        float(probability[-1]) if has_null else 1.0,
        top_k,
        no_answer_threshold,
    )


def _with_no_answer(
    query: str,
    answers: list[Answer],
    null_score: float | None,
    probability: float,
    top_k: int,
    threshold: float,
) -> list[Answer]:
    if null_score is None:  # no document had any text: nothing to answer from
        return [Answer(query=query, text=None, score=0.0, probability=1.0, meta={"no_answer_margin": None})]
    margin = answers[0].score - null_score if answers else None
    entry = Answer(
        query=query,
        text=None,
        score=float(null_score),
        probability=probability,
        meta={"no_answer_margin": margin},
    )
    position = next((i for i, answer in enumerate(answers) if answer.score - null_score < threshold), len(answers))
    ranked = [*answers[:position], entry, *answers[position:]]
    return ranked[:top_k] if position < top_k else [*answers[:top_k], entry]
