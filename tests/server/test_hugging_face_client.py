"""A real third-party client: huggingface_hub's InferenceClient pointed at /score, as Hugging Face users call hosted
question-answering and fill-mask models. Every answer equals what docqa.formats gives in-process, in the shape the
client parses (one object for one question at top_k 1 or unset, a list otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import JOHN, READER, Server
from huggingface_hub import InferenceClient
from huggingface_hub.inference._generated.types import FillMaskOutputElement, QuestionAnsweringOutputElement

from docqa.fill_mask import FillMask
from docqa.formats import answer_score_request, parse_score_request
from docqa.readers import ExtractiveReader

QUESTION = "Where do I live?"
UNANSWERABLE = ("Who won the 1998 World Cup?", "The cat sat on the mat.")


@pytest.fixture(scope="module")
def hf(live_server: Server) -> Iterator[InferenceClient]:
    """The client, allowed to send: huggingface_hub's offline mode (HF_HUB_OFFLINE, set for every test) blocks
    each of its requests, even to loopback. The models of this module load from local directories only."""
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        client = InferenceClient(model=live_server.url + "/score", timeout=120)
        yield client
        client.close()


@pytest.fixture(scope="module")
def reader() -> ExtractiveReader:
    return ExtractiveReader(model=str(READER))


def expected(body: dict[str, Any], **models: Any) -> Any:
    return answer_score_request(parse_score_request(body), **models)


def same(found: QuestionAnsweringOutputElement, answer: dict[str, Any]) -> bool:
    return (found.answer, found.start, found.end) == (answer["answer"], answer["start"], answer["end"]) and abs(
        found.score - answer["score"]
    ) < 1e-5


def test_one_question_is_one_answer_at_top_k_unset_or_1(hf: InferenceClient, reader: ExtractiveReader) -> None:
    answer = expected({"inputs": {"question": QUESTION, "context": JOHN}}, reader=reader)
    for found in (hf.question_answering(question=QUESTION, context=JOHN),
                  hf.question_answering(question=QUESTION, context=JOHN, top_k=1)):  # fmt: skip
        assert isinstance(found, QuestionAnsweringOutputElement) and found.answer == "Hyderabad"
        assert same(found, answer)


def test_top_k_3_is_a_list(hf: InferenceClient, reader: ExtractiveReader) -> None:
    found = hf.question_answering(question=QUESTION, context=JOHN, top_k=3)
    answers = expected({"inputs": {"question": QUESTION, "context": JOHN}, "parameters": {"top_k": 3}}, reader=reader)
    assert isinstance(found, list) and len(found) == len(answers) == 3
    assert all(same(item, answer) for item, answer in zip(found, answers, strict=True))


def test_handle_impossible_answer(hf: InferenceClient, reader: ExtractiveReader) -> None:
    question, context = UNANSWERABLE
    best_span = hf.question_answering(question=question, context=context)
    assert isinstance(best_span, QuestionAnsweringOutputElement) and best_span.answer != ""
    impossible = hf.question_answering(question=question, context=context, handle_impossible_answer=True)
    body = {"inputs": {"question": question, "context": context}, "parameters": {"handle_impossible_answer": True}}
    assert isinstance(impossible, QuestionAnsweringOutputElement)
    assert (impossible.answer, impossible.start, impossible.end) == ("", 0, 0)
    assert same(impossible, expected(body, reader=reader))


def test_list_inputs_are_a_list_per_pair(hf: InferenceClient, reader: ExtractiveReader) -> None:
    questions, contexts = [QUESTION, UNANSWERABLE[0]], [JOHN, UNANSWERABLE[1]]
    found = hf.question_answering(question=questions, context=contexts)  # type: ignore[arg-type]
    answers = expected({"inputs": {"question": questions, "context": contexts}}, reader=reader)
    assert isinstance(found, list) and len(found) == 2
    assert all(same(item, answer) for item, answer in zip(found, answers, strict=True))
    ranked = hf.question_answering(question=questions, context=contexts, top_k=2)  # type: ignore[arg-type]
    assert isinstance(ranked, list) and [len(items) for items in ranked] == [2, 2]  # type: ignore[arg-type]


def test_fill_mask_with_top_k_and_targets(hf: InferenceClient, masked_lm_dir: Path) -> None:
    fill_mask, text = FillMask(model=str(masked_lm_dir)), "Paris is the [MASK] of France."
    for options in ({"top_k": 3}, {"targets": ["capital", "city", "heart"]}, {"top_k": 2, "targets": ["city", "sea"]}):
        found = hf.fill_mask(text, **options)  # type: ignore[arg-type]
        answers = expected({"inputs": text, "parameters": options}, fill_mask=fill_mask)
        assert all(isinstance(item, FillMaskOutputElement) for item in found)
        assert [(item.token, item.token_str, item.sequence) for item in found] == [
            (answer["token"], answer["token_str"], answer["sequence"]) for answer in answers
        ]
        assert [item.score for item in found] == pytest.approx([answer["score"] for answer in answers], abs=1e-5)
