from __future__ import annotations

import json
from pathlib import Path

import pytest

from docqa.converters import SQuADConverter, convert_squad_file
from docqa.errors import ConversionError

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Rhine",
            "paragraphs": [
                {"context": "The Rhine flows through Basel.", "qas": [{"id": "q1", "question": "Where?"}]},
                {"context": "  ", "qas": []},
                {"context": "It ends in the North Sea.", "qas": [{"id": "q2"}, {"id": "q3"}]},
            ],
        },
        {"title": "Tokyo", "paragraphs": [{"context": "東京は大きい。", "qas": []}]},
    ],
}


def test_each_paragraph_becomes_a_document_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    docs = SQuADConverter().run(sources=[path])["documents"]
    assert [d.content for d in docs] == [
        "The Rhine flows through Basel.",
        "It ends in the North Sea.",
        "東京は大きい。",
    ]
    positions = [(d.meta["title"], d.meta["article_index"], d.meta["paragraph_index"]) for d in docs]
    assert positions == [("Rhine", 0, 0), ("Rhine", 0, 2), ("Tokyo", 1, 0)]
    assert all("question_ids" not in d.meta for d in docs)
    assert docs[0].meta["file_name"] == "dev.json"


def test_question_ids_on_request(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    docs = convert_squad_file(path, include_question_ids=True)
    assert [d.meta["question_ids"] for d in docs] == [["q1"], ["q2", "q3"], []]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", r"invalid JSON"),
        ('{"version": "v2.0"}', r"not a SQuAD file"),
        ('{"data": [{"title": "x"}]}', r"data\[0\]: an article must be an object with a 'paragraphs' list"),
        (
            '{"data": [{"paragraphs": [{"qas": []}]}]}',
            r"data\[0\]\.paragraphs\[0\]: missing a string 'context'",
        ),
        ('{"data": []}', r"the SQuAD file has no paragraphs"),
    ],
)
def test_malformed_squad_is_an_error_naming_the_place(tmp_path: Path, payload: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(payload, encoding="utf-8")
    with pytest.raises(ConversionError, match=rf"broken\.json: {message}"):
        convert_squad_file(path)


def test_shared_squad_dev_half_converts_exactly(squad_dev_half: Path) -> None:
    data = json.loads(squad_dev_half.read_text(encoding="utf-8"))
    docs = convert_squad_file(squad_dev_half, include_question_ids=True)
    expected = [
        (article["title"], paragraph["context"], [qa["id"] for qa in paragraph["qas"]])
        for article in data["data"]
        for paragraph in article["paragraphs"]
    ]
    assert len(docs) == len(expected) == 646
    assert [(d.meta["title"], d.content, d.meta["question_ids"]) for d in docs] == expected
    assert len({d.id for d in docs}) == len(docs)
