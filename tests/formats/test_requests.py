"""Parsing the model cards' request bodies: every accepted shape, and errors that name the field and index."""

from __future__ import annotations

from typing import Any

import pytest

from docqa.errors import RequestError
from docqa.formats import FillMaskRequest, QARequest, parse_score_request

CARD_QA = {
    "input_data": {
        "question": ["What is my name?", "Where do I live?"],
        "context": ["My name is John and I live in Seattle.", "My name is Ravi and I live in Hyderabad."],
    }
}


def test_azureml_qa_lists_pair_up_by_position() -> None:
    request = parse_score_request({**CARD_QA, "params": {"top_k": 2}})
    assert isinstance(request, QARequest)
    assert request.pairs() == list(
        zip(CARD_QA["input_data"]["question"], CARD_QA["input_data"]["context"], strict=True)
    )
    assert request.options.top_k == 2 and not request.single


def test_inputs_and_parameters_with_single_strings() -> None:
    body = {"inputs": {"question": "Who?", "context": "Ann."}, "parameters": {"handle_impossible_answer": True}}
    request = parse_score_request(body)
    assert isinstance(request, QARequest) and request.single
    assert request.pairs() == [("Who?", "Ann.")]
    assert request.options.handle_impossible_answer and request.options.max_answer_len == 15  # HF default


@pytest.mark.parametrize(
    ("body", "texts", "single"),
    [
        (
            {"inputs": {"input_string": ["a [MASK].", "b [MASK]."]}, "parameters": {"top_k": 2}},
            ["a [MASK].", "b [MASK]."],
            False,
        ),
        ({"input_data": ["a [MASK]."]}, ["a [MASK]."], False),
        ({"inputs": "one [MASK]."}, ["one [MASK]."], True),
        ({"inputs": {"input_string": "x <mask>"}}, ["x <mask>"], True),
    ],
)
def test_fill_mask_shapes(body: dict[str, Any], texts: list[str], single: bool) -> None:
    request = parse_score_request(body)
    assert isinstance(request, FillMaskRequest)
    assert (request.texts(), request.single) == (texts, single)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"input_data": {"question": ["a", "b"], "context": ["c"]}},
            "input_data: question has 2 items but context has 1",
        ),
        (
            {"input_data": {"question": ["a", "  "], "context": ["c", "d"]}},
            r"input_data.question\[1\]: must be a non-empty string",
        ),
        ({"inputs": {"question": "a", "context": ["c", 7]}}, r"inputs.context\[1\]: input should be a valid string"),
        ({"inputs": {"question": "a"}}, "inputs.context: field required"),
        (
            {"inputs": {"question": "a", "context": "b"}, "parameters": {"top_k": "2"}},
            "parameters.top_k: input should be a valid integer",
        ),
        (
            {"inputs": {"question": "a", "context": "b"}, "parameters": {"top_k": 0}},
            "parameters.top_k: input should be greater than or equal to 1",
        ),
        ({"inputs": {"question": "a", "context": "b"}, "parameters": {"topk": 2}}, "parameters.topk: unknown field"),
        (
            {"inputs": {"question": "a", "context": "b"}, "params": {"doc_stride": 400}},
            "params: doc_stride=400 must be smaller",
        ),
        (
            {"input_data": {"question": "a", "context": "b"}, "inputs": {"question": "a", "context": "b"}},
            "give input_data or inputs, not both",
        ),
        ({"input_data": ["a [MASK]", ""]}, r"input_data\[1\]: must be a non-empty string"),
        ({"inputs": {"input_string": ["a", 3]}}, r"inputs.input_string\[1\]: input should be a valid string"),
        ({"inputs": []}, "no input strings"),
        ({"parameters": {"top_k": 2}}, "input_data or inputs is required"),
        ([{"inputs": "x"}], "the body must be a JSON object"),
    ],
)
def test_errors_name_the_field_and_index(body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message) as caught:
        parse_score_request(body)
    assert "\n" not in str(caught.value)
    assert caught.value.details and all({"loc", "msg"} <= set(d) for d in caught.value.details)


def test_every_problem_is_in_the_details() -> None:
    body = {"input_data": {"question": ["", "b", ""], "context": ["c", "", "e"]}}
    with pytest.raises(RequestError) as caught:
        parse_score_request(body)
    locations = {detail["loc"] for detail in caught.value.details}
    assert locations == {"input_data.question[0]", "input_data.question[2]", "input_data.context[1]"}


def test_the_task_can_be_forced() -> None:
    with pytest.raises(RequestError, match=r"inputs\.question: field required"):
        parse_score_request({"inputs": {"input_string": ["a [MASK]"]}}, task="qa")
