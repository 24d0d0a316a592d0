"""Validation of SQuAD training files: version detection, offsets repaired or dropped, with counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import write_json

from docqa.errors import ConversionError
from docqa.training import SquadTrainingSet

CONTEXT = "The Normans were in Normandy, a region in France. They gave their name to Normandy."


def squad(qas: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {**top, "data": [{"title": "T", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}


def qa(qid: str, text: str, start: int, **extra: Any) -> dict[str, Any]:
    return {"id": qid, "question": "Where?", "answers": [{"text": text, "answer_start": start}], **extra}


def test_exact_offsets_are_kept_and_v1_is_detected() -> None:
    data = SquadTrainingSet.from_json(squad([qa("a", "France", CONTEXT.index("France"))]))
    assert (data.version, data.is_v2) == ("v1.1", False)
    (question,) = data.questions
    assert question.answer_span is not None
    assert CONTEXT[slice(*question.answer_span)] == "France"
    assert (data.report.repaired, data.report.dropped) == (0, {})


def test_v2_is_detected_from_is_impossible_and_unanswerable_questions_have_no_span() -> None:
    impossible = {"id": "b", "question": "Who?", "answers": [], "is_impossible": True}
    data = SquadTrainingSet.from_json(squad([qa("a", "France", 42, is_impossible=False), impossible]))
    assert data.version == "v2.0" and "is_impossible" in data.version_reason
    assert [q.answer_span is None for q in data.questions] == [False, True]
    assert (data.report.answerable, data.report.unanswerable) == (1, 1)


@pytest.mark.parametrize("shift", [-3, -1, 2, 5])
def test_an_offset_off_by_a_few_is_repaired_to_the_nearest_occurrence(shift: int) -> None:
    start = CONTEXT.index("Normandy, a")
    data = SquadTrainingSet.from_json(squad([qa("a", "Normandy", start + shift)]))
    (question,) = data.questions
    assert question.answer_start == start  # not the second "Normandy", far away
    assert data.report.repaired == 1


def test_surrounding_spaces_are_trimmed_and_counted_as_repairs() -> None:
    start = CONTEXT.index(" France")
    data = SquadTrainingSet.from_json(squad([qa("a", " France ", start)]))
    assert data.questions[0].answer_text == "France"
    assert data.report.repaired == 1


def test_unrepairable_answers_drop_the_question_with_the_reason_counted() -> None:
    qas = [
        qa("far", "France", 0),
        qa("absent", "Paris", 10),
        {"id": "nostart", "question": "Where?", "answers": [{"text": "France"}]},
        qa("empty", "", 3),
        qa("ok", "region", CONTEXT.index("region")),
        {
            "id": "second",
            "question": "Where?",
            "answers": [
                {"text": "Paris", "answer_start": 1},
                {"text": "France", "answer_start": CONTEXT.index("France")},
            ],
        },
    ]
    data = SquadTrainingSet.from_json(squad(qas))
    assert [q.qid for q in data.questions] == ["ok", "second"]  # the second answer of "second" is usable
    report = data.report
    assert (report.questions, report.kept) == (6, 2)
    assert sum(report.dropped.values()) == 4
    assert report.dropped["answer text not at answer_start nor within 20 characters of it"] == 2
    assert "4 dropped" in report.summary() and "far" in report.dropped_examples[0]


def test_a_question_without_answers_makes_the_file_squad_2() -> None:
    data = SquadTrainingSet.from_json(squad([qa("a", "France", 42), {"id": "b", "question": "Q?", "answers": []}]))
    assert data.version == "v2.0"  # a question without answers makes it a SQuAD 2.0 file
    assert len(data.questions) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": "nope"}', "not a SQuAD file"),
        ("[1, 2]", "not a SQuAD file"),
        ("{not json", "not valid JSON"),
        ('{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}', "expected a 'context' string"),
    ],
)
def test_files_that_are_not_squad_raise_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConversionError, match=message) as raised:
        SquadTrainingSet.load(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_the_file_hash_identifies_the_data(tmp_path: Path) -> None:
    first = SquadTrainingSet.load(write_json(tmp_path / "a.json", squad([qa("a", "France", 42)])))
    second = SquadTrainingSet.load(write_json(tmp_path / "b.json", squad([qa("a", "France", 43)])))
    assert len(first.sha256) == 64 and first.sha256 != second.sha256
