"""Turning one question's span candidates (from all its windows and documents) into ranked answers.

Candidates are merged before they are ranked: the same characters of the same source document, found in several
passages (overlapping passages of one file) or windows, are one answer whose probability is the sum of their shares
of the question's softmax, and whose score is the log of their summed exponentiated scores (so ``score - null
score`` stays the log-odds the no-answer threshold is compared with). ``group_by="text"`` also merges answers whose
SQuAD-normalized text is equal, wherever they were found. Optionally the retriever's score of each passage is
fused into its spans' scores first (``retriever_weight``, as BERTserini does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from docqa.errors import ComponentError
from docqa.schema import Answer, AnswerSource, Document, Span
from docqa.text.normalization import normalize_answer


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


#: How answers are merged: ``"span"``, the same characters of the same source document are one answer;
#: ``"text"``, so are all answers whose SQuAD-normalized text is equal.
GROUP_BY = ("span", "text")


def check_group_by(owner: str, value: object) -> str:
    """``value`` when it is one of :data:`GROUP_BY`, else a :class:`ComponentError` naming ``owner``."""
    if value not in GROUP_BY:
        raise ComponentError(f"{owner}: group_by must be one of {list(GROUP_BY)}, got {value!r}")
    return str(value)


def rank_answers(
    query: str,
    documents: Sequence[Document],
    candidates: QuestionCandidates,
    top_k: int,
    no_answer: bool,
    no_answer_threshold: float,
    *,
    group_by: str = "span",
    retriever_weight: float = 0.0,
) -> list[Answer]:
    """The ``top_k`` best answers of one question, plus (when ``no_answer``) exactly one no-answer entry.

    Each candidate span is placed in its source document (``document.source_id``, ``source_span``); places with
    the same source characters (with ``group_by="text"``: the same normalized text) make one answer (see the
    module doc). ``retriever_weight`` ``w`` adds ``w * (document.score - best document.score)`` to every span of a
    document before the softmax (a document without a score gets nothing added). The no-answer ranks above every
    answer whose ``score - null_score < no_answer_threshold``; the list holds ``top_k`` answers and the no-answer
    where it ranks (after them when it ranks lower), so callers can always read its margin.
    """
    doc, start, end, score = candidates.unique_spans()
    score = fused_scores(documents, doc, score, retriever_weight)
    has_null = no_answer and np.isfinite(candidates.null_score)
    logits = np.append(score, candidates.null_score) if has_null else score
    probability = _softmax(logits) if len(logits) else logits
    places = _Places.of(documents, doc, start, end)
    groups = _non_overlapping(_ranked_groups(places, score, group_by), places, top_k)
    answers = [_merged_answer(query, [places.answer_source(i, score[i], probability[i]) for i in g]) for g in groups]
    if not no_answer:
        return answers
    return _with_no_answer(
        query,
        answers,
        candidates.null_score if has_null else None,
        float(probability[-1]) if has_null else 1.0,
        no_answer_threshold,
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    """``scipy.special.softmax``'s computation, without its dispatch (a few microseconds per question)."""
    shifted = np.exp(logits - np.max(logits))
    return shifted / np.sum(shifted)


def fused_scores(documents: Sequence[Document], doc: np.ndarray, score: np.ndarray, weight: float) -> np.ndarray:
    """``score + weight * (retriever score of the span's document - the best retriever score)``; unchanged when
    ``weight`` is 0 or no document has a score."""
    if weight == 0.0 or not len(score):
        return score
    retrieved = np.array([np.nan if d.score is None else float(d.score) for d in documents], dtype=np.float64)
    if np.isnan(retrieved).all():
        return score
    behind_best = np.nan_to_num(retrieved - np.nanmax(retrieved), nan=0.0)
    return score + weight * behind_best[doc]


@dataclass(frozen=True)
class _Places:
    """Where each candidate lies: its passage (``doc``, passage offsets) and its source document (a number per
    distinct ``source_id``, source offsets), the source side as Python lists (compared one by one)."""

    documents: Sequence[Document]
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    source_number: list[int]
    source_start: list[int]
    source_end: list[int]
    one_per_source: bool  #: no two documents come from the same source

    @classmethod
    def of(cls, documents: Sequence[Document], doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> _Places:
        numbers: dict[str, int] = {}
        source = np.array([numbers.setdefault(d.source_id, len(numbers)) for d in documents], dtype=np.int64)
        offsets = np.array([d.source_span.start for d in documents], dtype=np.int64)
        shift = offsets[doc] if len(doc) else np.zeros(0, dtype=np.int64)
        source_of = source[doc] if len(doc) else np.zeros(0, dtype=np.int64)
        one_per_source = len(numbers) == len(documents)
        source_start, source_end = (start + shift).tolist(), (end + shift).tolist()
        return cls(documents, doc, start, end, source_of.tolist(), source_start, source_end, one_per_source)

    def answer_source(self, i: int, score: float, probability: float) -> AnswerSource:
        """Candidate ``i`` as an :class:`AnswerSource`: its passage, offsets, score and share."""
        document = self.documents[int(self.doc[i])]
        passage_span = Span(int(self.start[i]), int(self.end[i]))
        return AnswerSource(
            document, Span(self.source_start[i], self.source_end[i]), passage_span, float(score), float(probability)
        )

    def overlaps(self, i: int, j: int) -> bool:
        """Whether candidates ``i`` and ``j`` share characters of one source document."""
        return (
            self.source_number[i] == self.source_number[j]
            and self.source_start[i] < self.source_end[j]
            and self.source_start[j] < self.source_end[i]
        )


def _ranked_groups(places: _Places, score: np.ndarray, group_by: str) -> Iterator[list[int]]:
    """The candidates (best first) merged into answers, best answer first: each answer as its candidates' indices,
    best place first (ranking stops after ``top_k`` kept answers, so later ones are never listed)."""
    number = _group_numbers(places, group_by)
    if number is None:  # every candidate is an answer of its own
        yield from ([i] for i in np.argsort(-score, kind="stable").tolist())
        return
    size = np.bincount(number)
    # numbers appear in order: each answer's best place is where the running maximum grows
    first = np.flatnonzero(np.diff(np.maximum.accumulate(number), prepend=-1) > 0) if len(number) else number
    merged = score[first].astype(np.float64)
    for group in np.flatnonzero(size > 1):  # few: most answers are found in one place
        merged[group] = _merged_score_of(score[number == group])
    for group in np.argsort(-merged, kind="stable").tolist():  # stable: ties keep the order of their best places
        yield [int(first[group])] if size[group] == 1 else np.flatnonzero(number == group).tolist()


def _group_numbers(places: _Places, group_by: str) -> np.ndarray | None:
    """Each candidate's answer, numbered in order of first appearance (so answer ``n``'s best place comes before
    answer ``n + 1``'s): the same source characters, or with ``group_by="text"`` the same normalized text.
    ``None`` when each candidate is its own answer (distinct spans of documents from distinct sources)."""
    keys: Iterable[tuple[object, ...]]
    if group_by == "text":
        spans = zip(places.doc.tolist(), places.start.tolist(), places.end.tolist(), strict=True)
        keys = [_text_key(places.documents[d].content[s:e]) for d, s, e in spans]
    elif places.one_per_source:
        return None  # unique_spans' spans are distinct: with one document per source, so are their places
    else:
        keys = zip(places.source_number, places.source_start, places.source_end, strict=True)
    numbers: dict[tuple[object, ...], int] = {}
    return np.array([numbers.setdefault(key, len(numbers)) for key in keys], dtype=np.int64)


def _text_key(text: str) -> tuple[str, str]:
    normalized = normalize_answer(text)
    return ("text", normalized) if normalized else ("verbatim", text)  # "the", "%": only equal texts merge


def _merged_score(group: list[AnswerSource]) -> float:
    return _merged_score_of(np.array([place.score for place in group], dtype=np.float64))


def _merged_score_of(scores: np.ndarray) -> float:
    """The log of the summed exponentiated scores (the score itself for one place)."""
    return float(np.logaddexp.reduce(scores))


def _non_overlapping(groups: Iterable[list[int]], places: _Places, limit: int) -> list[list[int]]:
    """At most ``limit`` answers, best first, skipping any answer whose every place overlaps a place of a better
    answer already kept (in the same source document)."""
    kept: list[list[int]] = []
    taken: list[int] = []
    if limit <= 0:
        return kept
    for group in groups:
        if all(any(places.overlaps(i, j) for j in taken) for i in group):
            continue
        kept.append(group)
        taken.extend(group)
        if len(kept) == limit:
            break
    return kept


def _merged_answer(query: str, group: list[AnswerSource]) -> Answer:
    best = group[0]
    return Answer(
        query=query,
        text=best.document_span.slice(best.document.content),
        score=_merged_score(group),
        probability=float(sum(place.probability for place in group)),
        document=best.document,
        span=best.span,
        document_span=best.document_span,
        sources=list(group),
    )


def _with_no_answer(
    query: str,
    answers: list[Answer],
    null_score: float | None,
    probability: float,
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
    return [*answers[:position], entry, *answers[position:]]
