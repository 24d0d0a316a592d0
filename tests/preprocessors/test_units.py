from __future__ import annotations

import pytest

from docqa.preprocessors import paragraph_spans, sentence_spans, word_spans


def _sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("He paid $3.50 for it. Then left.", ["He paid $3.50 for it.", "Then left."]),
        (
            "Mr. and Mrs. Smith met Dr. Jones. They talked.",
            ["Mr. and Mrs. Smith met Dr. Jones.", "They talked."],
        ),
        ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
        ("Use a tool, e.g. a hammer. Done.", ["Use a tool, e.g. a hammer.", "Done."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what? Really?! Yes.", ["Wait... what?", "Really?!", "Yes."]),
        ("(See below.) Next one.", ["(See below.)", "Next one."]),
        ("東京は大きい。大阪も大きい！本当？", ["東京は大きい。", "大阪も大きい！", "本当？"]),
        ("Title without stop\n\nBody text. More", ["Title without stop", "Body text.", "More"]),
        ("Version 2.0.1 is out. Get it.", ["Version 2.0.1 is out.", "Get it."]),
        ("  \n leading space. trailing  \n", ["leading space. trailing"]),
        ("", []),
        (" \t\n", []),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_words_are_maximal_non_whitespace_runs_on_the_original_text() -> None:
    text = "\tZürich\u00a0東京  🙂👍🏽\n"
    assert [text[s:e] for s, e in word_spans(text)] == text.split() == ["Zürich", "東京", "🙂👍🏽"]


def test_paragraphs_split_on_lines_that_are_blank_or_only_spaces() -> None:
    text = "a\nb\n \t \nc\n\n\n\nd\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["a\nb", "c", "d"]
