"""rank_answers: one answer per place in a source, answers grouped by text, fusion with the retriever, top_k.

The candidates are given directly (what the reader's windows produced), so every expected number is computed here
by hand from the definitions: a softmax over the distinct (passage, span) candidates and the null score.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from docqa.preprocessors import DocumentSplitter
from docqa.readers.answer_ranking import rank_answers
from docqa.schema import Answer, Document

SOURCE = Document(
    "Warsaw stands on the Vistula River. The Vistula is the longest river in Poland. "
    "Kraków lies on the Vistula too, far upstream.",
    meta={"file_name": "rivers.txt"},
)


class Candidates:
    """What the reader's windows found for one question: ``(document index, start, end, score)`` per distinct
    span in its passage, and the null score (the interface rank_answers reads)."""

    def __init__(self, rows: list[tuple[int, int, int, float]], null_score: float) -> None:
        self.rows = sorted(rows, key=lambda row: -row[3])
        self.null_score = null_score

    def unique_spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [(), (), (), ()]
        return tuple(np.array(column, dtype=np.float64 if i == 3 else np.int64) for i, column in enumerate(columns))


def passages(length: int, overlap: int) -> list[Document]:
    return DocumentSplitter(split_length=length, split_overlap=overlap).run(documents=[SOURCE])["documents"]


def at(passage: Document, text: str, occurrence: int = 0) -> tuple[int, int]:
    """Where the ``occurrence``-th ``text`` of the source lies in ``passage``'s own offsets."""
    start = -1
    for _ in range(occurrence + 1):
        start = SOURCE.content.index(text, start + 1)
    local = start - passage.meta["source_start"]
    assert passage.content[local : local + len(text)] == text
    return local, local + len(text)


def rank(documents: list[Document], candidates: Candidates, **options: object) -> list[Answer]:
    settings = {"top_k": 5, "no_answer": True, "no_answer_threshold": 0.0, **options}
    return rank_answers("Where is Warsaw?", documents, candidates, **settings)  # type: ignore[arg-type]


def softmax(scores: list[float]) -> list[float]:
    total = sum(math.exp(score) for score in scores)
    return [math.exp(score) / total for score in scores]


def test_one_span_in_two_overlapping_passages_is_one_answer_with_the_summed_probability() -> None:
    first, second = passages(8, 4)[:2]
    assert "Vistula River" in first.content and "Vistula River" in second.content  # the overlap holds it
    found = Candidates(
        [(0, *at(first, "Vistula River"), 2.0), (1, *at(second, "Vistula River"), 1.5), (0, *at(first, "Warsaw"), 0.5)],
        null_score=2.2,
    )
    answers = rank([first, second], found)
    shares = softmax([2.0, 1.5, 0.5, 2.2])
    river, no_answer, warsaw = answers  # merged, the river (0.42) beats the null (0.32); alone neither place would
    assert river.text == "Vistula River" and no_answer.is_no_answer and warsaw.text == "Warsaw"
    assert river.probability == pytest.approx(shares[0] + shares[1], rel=1e-12)
    assert river.score == pytest.approx(math.log(math.exp(2.0) + math.exp(1.5)), rel=1e-12)
    assert no_answer.probability == pytest.approx(shares[3], rel=1e-12)
    assert no_answer.meta["no_answer_margin"] == pytest.approx(river.score - 2.2, rel=1e-12)
    assert shares[0] < shares[3] < shares[0] + shares[1]
    start = SOURCE.content.index("Vistula River")
    assert (river.source_span.start, river.source_span.end) == (start, start + len("Vistula River"))  # type: ignore[union-attr]
    assert [source.document for source in river.sources] == [first, second]  # the best place first
    assert river.document is first and river.passage_span == river.sources[0].document_span
    for source in river.sources:
        assert source.document.content[source.document_span.start : source.document_span.end] == "Vistula River"
        assert source.span == river.source_span
    assert sum(s.probability for s in river.sources) == pytest.approx(river.probability, rel=1e-12)


def test_grouping_by_text_keeps_every_source_with_exact_offsets() -> None:
    documents = passages(8, 4)
    places = []
    for occurrence in range(3):  # "Vistula" three times in the source, in one or two passages each
        start = [m for m in range(len(SOURCE.content)) if SOURCE.content.startswith("Vistula", m)][occurrence]
        for index, passage in enumerate(documents):
            local = start - passage.meta["source_start"]
            if local >= 0 and local + 7 <= len(passage.content):
                places.append((index, local, local + 7, 1.0 - 0.1 * len(places)))
    places.append((0, *at(documents[0], "Warsaw"), 2.0))
    found = Candidates(places, null_score=0.0)
    by_span = rank(documents, found)
    by_text = rank(documents, found, group_by="text")
    vistula = by_text[0]
    assert vistula.text == "Vistula" and len(vistula.sources) == len(places) - 1
    shares = softmax([p[3] for p in found.rows] + [0.0])
    assert vistula.probability == pytest.approx(sum(shares[i] for i, p in enumerate(found.rows) if p[3] != 2.0))
    assert {(s.span.start, s.span.end) for s in vistula.sources} == {
        (m, m + 7) for m in range(len(SOURCE.content)) if SOURCE.content.startswith("Vistula", m)
    }
    for source in vistula.sources:  # exact offsets into the file and into each passage
        assert SOURCE.content[source.span.start : source.span.end] == "Vistula"
        assert source.document.content[source.document_span.start : source.document_span.end] == "Vistula"
        assert source.source_id == SOURCE.id
    assert by_span[0].text == "Warsaw"  # without grouping no single Vistula beats it
    assert [a.text for a in by_span].count("Vistula") == 3  # one per place


def test_grouping_uses_the_squad_normalization() -> None:
    document = Document("The Vistula, the vistula! A river: the Vistula")
    spans = [(4, 11), (13, 24), (35, 46)]  # "Vistula", "the vistula", "the Vistula"
    found = Candidates([(0, s, e, 1.0) for s, e in spans], null_score=-5.0)
    (grouped, no_answer) = rank([document], found, group_by="text")
    assert grouped.text == "Vistula" and len(grouped.sources) == 3 and no_answer.is_no_answer
    assert [document.content[s.span.start : s.span.end] for s in grouped.sources] == [
        "Vistula",
        "the vistula",
        "the Vistula",
    ]


def test_top_k_counts_answers_and_the_no_answer_comes_on_top() -> None:
    document = Document("alpha beta gamma delta epsilon")
    found = Candidates([(0, 0, 5, 1.0), (0, 6, 10, 0.5), (0, 11, 16, 0.2)], null_score=3.0)
    answers = rank([document], found, top_k=2)
    assert [a.text for a in answers] == [None, "alpha", "beta"]  # two answers, and the no-answer ranked first
    assert [a.text for a in rank([document], found, top_k=2, no_answer=False)] == ["alpha", "beta"]


def test_overlapping_places_across_passages_are_one_listed_answer() -> None:
    first, second, third = passages(8, 4)[:3]
    found = Candidates(
        [
            (1, *at(second, "Vistula River"), 2.0),
            (0, *at(first, "the Vistula River"), 1.9),  # another passage, the same place in the file
            (2, *at(third, "Poland"), 0.0),
        ],
        null_score=-9.0,
    )
    answers = rank([first, second, third], found, no_answer=False)
    assert [a.text for a in answers] == ["Vistula River", "Poland"]


def test_fusion_adds_the_weighted_retriever_score_behind_the_best() -> None:
    near = Document("Warsaw lies on the Vistula.", score=12.0)
    far = Document("Some say the Oder.", score=4.0)
    found = Candidates([(0, 19, 26, 1.0), (1, 13, 17, 1.5)], null_score=0.0)
    assert rank([near, far], found)[0].text == "Oder"
    fused = rank([near, far], found, retriever_weight=0.1)
    assert [a.text for a in fused] == ["Vistula", "Oder", None]
    assert fused[0].score == pytest.approx(1.0) and fused[1].score == pytest.approx(1.5 + 0.1 * (4.0 - 12.0))
    assert [a.probability for a in fused] == pytest.approx(softmax([1.0, 1.5 - 0.8, 0.0]))
    unscored = [Document(near.content), Document(far.content)]
    assert [a.text for a in rank(unscored, found, retriever_weight=0.1)] == ["Oder", "Vistula", None]


def test_the_reader_merges_spans_of_overlapping_passages(tiny_bert: Path) -> None:
    """End to end: a real (tiny) model over passages that overlap, against the same text read as one document."""
    from docqa.readers import ExtractiveReader

    source = Document((SOURCE.content + " ") * 6)
    split = DocumentSplitter(split_length=30, split_overlap=15).run(documents=[source])["documents"]
    reader = ExtractiveReader(model=str(tiny_bert), max_seq_len=64, doc_stride=16, max_query_length=16, top_k=50)
    answers = [a for a in reader.run(query="Where is Warsaw?", documents=split)["answers"] if not a.is_no_answer]
    places = [(a.source_span.start, a.source_span.end) for a in answers]  # type: ignore[union-attr]
    assert len(places) == len(set(places))  # every place in the file once
    assert any(len(a.sources) > 1 for a in answers)  # and some were found in two passages
    for answer in answers:
        assert sum(s.probability for s in answer.sources) == pytest.approx(answer.probability, rel=1e-9)
        assert answer.score == pytest.approx(float(np.logaddexp.reduce([s.score for s in answer.sources])))
        for s in answer.sources:
            assert source.content[s.span.start : s.span.end] == answer.text
