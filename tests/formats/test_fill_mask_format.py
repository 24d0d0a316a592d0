"""Fill-mask responses: transformers' pipeline output, per input, for every request shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docqa.errors import RequestError
from docqa.fill_mask import FillMask
from docqa.formats import answer_score_request, parse_score_request


@pytest.fixture(scope="module")
def reference(tiny_fill_mask_dir: Path) -> Any:
    from transformers import pipeline

    return pipeline("fill-mask", model=str(tiny_fill_mask_dir), tokenizer=str(tiny_fill_mask_dir))


def assert_matches(expected: Any, found: Any) -> None:
    if isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected)
        for e, f in zip(expected, found, strict=True):
            assert_matches(e, f)
        return
    assert set(found) == {"score", "token", "token_str", "sequence"}
    assert (found["token"], found["token_str"], found["sequence"]) == (
        expected["token"],
        expected["token_str"],
        expected["sequence"],
    )
    assert found["score"] == pytest.approx(expected["score"], abs=1e-5)


def test_input_string_list_with_top_k(tiny_fill_mask: FillMask, reference: Any) -> None:
    texts = ["Paris is the [MASK] of France.", "The [MASK] barked at the [MASK]."]
    body = {"inputs": {"input_string": texts}, "parameters": {"top_k": 2}}
    response = answer_score_request(parse_score_request(body), fill_mask=tiny_fill_mask)
    assert len(response) == 2
    for text, found in zip(texts, response, strict=True):
        assert_matches(reference(text, top_k=2), found)
    assert len(response[1]) == 2 and isinstance(response[1][0], list)  # two masks: one list each


def test_input_data_list_and_one_string(tiny_fill_mask: FillMask, reference: Any) -> None:
    listed = answer_score_request(parse_score_request({"input_data": ["Hello [MASK]."]}), fill_mask=tiny_fill_mask)
    assert_matches([reference("Hello [MASK].")], listed)
    one = answer_score_request(parse_score_request({"inputs": "Hello [MASK]."}), fill_mask=tiny_fill_mask)
    assert_matches(reference("Hello [MASK]."), one)  # one string: one flat list of 5 (the default top_k)
    assert len(one) == 5


def test_targets(tiny_fill_mask: FillMask, reference: Any) -> None:
    body = {"inputs": "Paris is the [MASK] of France.", "parameters": {"targets": ["capital", "city"], "top_k": 5}}
    response = answer_score_request(parse_score_request(body), fill_mask=tiny_fill_mask)
    assert_matches(reference("Paris is the [MASK] of France.", targets=["capital", "city"], top_k=5), response)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"inputs": {"input_string": ["a [MASK].", "no mask"]}},
            r"inputs.input_string\[1\]: has no mask token: write \[MASK\]",
        ),
        ({"inputs": "no mask"}, r"inputs: has no mask token"),
        (
            {"input_data": ["[MASK] " + "word " * 600]},
            r"input_data\[0\]: is \d+ tokens long, over the model's limit of 512",
        ),
    ],
)
def test_content_errors_name_the_input(tiny_fill_mask: FillMask, body: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        answer_score_request(parse_score_request(body), fill_mask=tiny_fill_mask)


def test_no_fill_mask_model() -> None:
    with pytest.raises(RequestError, match="no fill-mask model is loaded"):
        answer_score_request(parse_score_request({"inputs": "a [MASK]"}), reader=object())
