"""QA responses with the real small SQuAD 2.0 reader, checked against the model card and a brute-force decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from docqa.errors import RequestError
from docqa.formats import answer_score_request, parse_score_request
from docqa.readers import ExtractiveReader

CARD = {
    "input_data": {
        "question": ["What is my name?", "Where do I live?"],
        "context": ["My name is John and I live in Seattle.", "My name is Ravi and I live in Hyderabad."],
    }
}


def answer(body: dict[str, Any], reader: ExtractiveReader) -> list[Any]:
    return answer_score_request(parse_score_request(body), reader=reader)


def brute_force_best_span(reader: ExtractiveReader, question: str, context: str, max_len: int = 15) -> tuple[int, int]:
    """The best valid span by start + end logit over every (start, end) of the context: an independent decoder."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(reader.model)
    model = AutoModelForQuestionAnswering.from_pretrained(reader.model).eval()
    encoded = tokenizer(question, context, return_offsets_mapping=True, return_tensors="pt")
    offsets = encoded.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        output = model(**encoded)
    start, end = output.start_logits[0].numpy(), output.end_logits[0].numpy()
    in_context = np.array([sid == 1 for sid in encoded.sequence_ids(0)])
    best, where = -np.inf, (0, 0)
    for s in np.flatnonzero(in_context):
        for e in range(s, min(s + max_len, len(start))):
            if in_context[e] and start[s] + end[e] > best:
                best, where = start[s] + end[e], (int(offsets[s][0]), int(offsets[e][1]))
    return where


def test_the_model_cards_sample(squad2_reader: ExtractiveReader) -> None:
    response = answer(CARD, squad2_reader)
    assert [(r["answer"], r["start"], r["end"]) for r in response] == [("John", 11, 15), ("Hyderabad", 30, 39)]
    assert all(set(r) == {"score", "start", "end", "answer"} and 0 < r["score"] <= 1 for r in response)


def test_spans_equal_a_brute_force_decoder(squad2_reader: ExtractiveReader) -> None:
    pairs = [
        ("Who wrote the letter?", "The letter, dated 1861, was written by Abraham Lincoln to his general."),
        ("When was it dated?", "The letter, dated 1861, was written by Abraham Lincoln to his general."),
        ("What colour is the sky?", "On clear days the sky looks blue because of Rayleigh scattering."),
    ]
    body = {"inputs": {"question": [q for q, _ in pairs], "context": [c for _, c in pairs]}}
    body["parameters"] = {"align_to_words": False}
    for (question, context), found in zip(pairs, answer(body, squad2_reader), strict=True):
        start, end = brute_force_best_span(squad2_reader, question, context)
        assert (found["start"], found["end"], found["answer"]) == (start, end, context[start:end])


def test_keyed_form_as_on_the_minilm_card(squad2_reader: ExtractiveReader) -> None:
    response = answer({**CARD, "params": {"response_format": "keyed"}}, squad2_reader)
    assert response == [{"0": "John"}, {"0": "Hyderabad"}]


def test_top_k_gives_a_list_per_pair(squad2_reader: ExtractiveReader) -> None:
    response = answer({**CARD, "params": {"top_k": 3}}, squad2_reader)
    assert len(response) == 2 and all(len(items) == 3 for items in response)
    for items, context in zip(response, CARD["input_data"]["context"], strict=True):
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True)
        assert all(context[item["start"] : item["end"]] == item["answer"] != "" for item in items)
    assert response[0][0]["answer"] == "John"


def test_one_plain_pair_is_answered_as_its_style_answers_it(squad2_reader: ExtractiveReader) -> None:
    """Hugging Face ``inputs``: the answer object itself for top_k 1 (or unset), as the Inference API and the
    pipeline answer; the list for top_k > 1. AzureML ``input_data``: always the cards' list."""
    pair = {"question": "What is my name?", "context": "My name is John and I live in Seattle."}
    one = answer({"inputs": pair}, squad2_reader)
    assert isinstance(one, dict) and one["answer"] == "John"
    assert answer({"inputs": pair, "parameters": {"top_k": 1}}, squad2_reader) == one
    two = answer({"inputs": pair, "parameters": {"top_k": 2}}, squad2_reader)
    assert isinstance(two, list) and len(two) == 2 and two[0] == one
    assert answer({"input_data": pair}, squad2_reader) == [one]
    assert answer({"input_data": pair, "params": {"top_k": 2}}, squad2_reader) == two
    listed = {"question": [pair["question"]], "context": [pair["context"]]}
    assert answer({"inputs": listed}, squad2_reader) == [one]
    assert answer({"inputs": listed, "parameters": {"top_k": 2}}, squad2_reader) == [two]


def test_handle_impossible_answer(squad2_reader: ExtractiveReader) -> None:
    body = {"inputs": {"question": ["Who won the 1998 World Cup?"], "context": ["The cat sat on the mat."]}}
    reader_answers = squad2_reader.run(query="Who won the 1998 World Cup?", documents=_docs("The cat sat on the mat."))
    assert reader_answers["answers"][0].is_no_answer  # this model prefers "no answer" here
    (best_span,) = answer(body, squad2_reader)
    assert best_span["answer"] != "" and best_span["end"] > best_span["start"]
    (impossible,) = answer({**body, "parameters": {"handle_impossible_answer": True}}, squad2_reader)
    assert impossible == {
        "answer": "",
        "start": 0,
        "end": 0,
        "score": pytest.approx(reader_answers["answers"][0].probability),
    }


def test_window_parameters_equal_a_reader_built_with_them(squad2_reader: ExtractiveReader) -> None:
    context = "Filler words about nothing at all. " * 40 + "My name is John and I live in Seattle."
    body = {"inputs": {"question": "What is my name?", "context": context}}
    parameters = {"max_seq_len": 64, "doc_stride": 16, "max_question_len": 16, "max_answer_len": 5, "top_k": 3}
    narrow = answer({**body, "parameters": {**parameters, "align_to_words": False}}, squad2_reader)
    built = ExtractiveReader(
        model=squad2_reader.model,
        max_seq_len=64,
        doc_stride=16,
        max_query_length=16,
        max_answer_length=5,
        align_to_words=False,
    )
    expected = [a for a in built.run(query="What is my name?", documents=_docs(context), top_k=4)["answers"] if a.text]
    assert [(r["answer"], r["start"], r["end"]) for r in narrow] == [
        (a.text, a.span.start, a.span.end) for a in expected[:3] if a.span is not None
    ]
    assert [r["score"] for r in narrow] == pytest.approx([a.probability for a in expected[:3]])
    assert (squad2_reader.max_seq_len, squad2_reader.doc_stride, squad2_reader.max_answer_length) == (384, 128, 30)


def test_a_max_seq_len_beyond_the_model_is_a_request_error(squad2_reader: ExtractiveReader) -> None:
    body = {"inputs": {"question": "What?", "context": "word " * 900}, "parameters": {"max_seq_len": 1024}}
    with pytest.raises(RequestError, match="invalid request"):
        answer(body, squad2_reader)


def test_no_reader_for_a_qa_request() -> None:
    with pytest.raises(RequestError, match="no reader is loaded"):
        answer_score_request(parse_score_request(CARD), fill_mask=object())


WORDY = "The unbelievable antidisestablishmentarianism of Transubstantiation scholars in Worcestershire."


@pytest.mark.parametrize("align", [True, False])
def test_align_to_words_is_the_readers_option(align: bool, tiny_qa_dir: Path) -> None:
    """The request's ``align_to_words`` is the reader's: equal to a reader built with it (a random model, whose
    spans start and end inside words), whole words when true, the raw token offsets when false."""
    reader = ExtractiveReader(model=str(tiny_qa_dir), top_k=5)
    question = "Who are the scholars?"
    body = {"inputs": {"question": question, "context": WORDY}, "parameters": {"top_k": 5, "align_to_words": align}}
    found = [(r["answer"], r["start"], r["end"]) for r in answer(body, reader)]
    built = ExtractiveReader(model=str(tiny_qa_dir), top_k=6, align_to_words=align, max_answer_length=15)
    expected = [(a.text, a.span.start, a.span.end) for a in built.run(query=question, documents=_docs(WORDY))["answers"]
                if a.span is not None]  # fmt: skip
    assert found == expected[:5]
    cut = [(s, e) for _, s, e in found if (s > 0 and WORDY[s - 1].isalnum()) or (e < len(WORDY) and WORDY[e].isalnum())]
    assert bool(cut) != align  # the random model does cut words: aligned, none is cut


def _docs(text: str) -> list[Any]:
    from docqa.schema import Document

    return [Document(text)]
