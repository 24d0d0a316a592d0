from __future__ import annotations

import re
import sys

import pytest

from docqa.errors import DocqaError
from docqa.text import ENGLISH_STOPWORDS, Analyzer

TEXTS = [
    "The Quick brown fox -- jumped over 2 lazy dogs.",
    "Ça coûte 3,50 € à Zürich; naïve café_au_lait!",
    "",
    "   \n\t ",
    "don't STOP me now",
]


@pytest.mark.parametrize("text", TEXTS)
def test_default_matches_lowercased_word_regex(text: str) -> None:
    assert Analyzer()(text) == re.findall(r"(?u)\b\w+\b", text.lower())


def test_lowercase_off_keeps_case() -> None:
    assert Analyzer(lowercase=False)("Hello World") == ["Hello", "World"]


def test_english_stopwords_removed() -> None:
    assert Analyzer(stopwords="english")("What is the capital of France") == ["capital", "france"]
    assert {"the", "is", "of", "and"} <= ENGLISH_STOPWORDS


def test_custom_stopwords_compare_lowercased_even_without_lowercasing() -> None:
    analyzer = Analyzer(lowercase=False, stopwords=["The", "of"])
    assert analyzer("The Capital OF France") == ["Capital", "France"]


def test_english_stemmer() -> None:
    assert Analyzer(stemmer="english")("Running cats were jumping") == ["run", "cat", "were", "jump"]


def test_missing_pystemmer_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "Stemmer", None)  # makes `import Stemmer` raise ImportError
    with pytest.raises(DocqaError, match="PyStemmer"):
        Analyzer(stemmer="english")


def test_round_trip_through_plain_dict() -> None:
    analyzer = Analyzer(lowercase=False, token_pattern=r"[a-z]+", stopwords=["a", "b"], stemmer=None)
    data = analyzer.to_dict()
    assert data == {"lowercase": False, "token_pattern": "[a-z]+", "stopwords": ["a", "b"], "stemmer": None}
    assert Analyzer.from_dict(data) == analyzer
    assert Analyzer.from_dict(None) == Analyzer() == Analyzer.from_dict({})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"token_pattern": "("}, "not a valid regex"),
        ({"token_pattern": r"(\w+)"}, "capturing groups"),
        ({"token_pattern": ""}, "token_pattern"),
        ({"stopwords": "french"}, "stopwords"),
        ({"stopwords": [1, 2]}, "stopwords"),
        ({"stemmer": "klingon"}, "stemmer"),
        ({"lowercase": "yes"}, "lowercase"),
        ({"lower": True}, "unknown analyzer option"),
    ],
)
def test_invalid_config(config: dict, message: str) -> None:
    with pytest.raises(DocqaError, match=message):
        Analyzer.from_dict(config)
