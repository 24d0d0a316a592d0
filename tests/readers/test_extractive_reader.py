"""ExtractiveReader end to end with tiny random-weight models, checked against a brute-force oracle."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import pytest
from reader_oracle import brute_force_answer

from docqa.core.component import init_parameters
from docqa.errors import ComponentError
from docqa.readers import ExtractiveReader
from docqa.schema import SOURCE_END, SOURCE_ID, SOURCE_START, Answer, Document

GEOMETRY = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "max_answer_length": 8}

UNICODE_TEXT = (
    "Café  Müller in Zürich served crème brûlée to Ångström. 東京タワーは高さ333メートルです。 "
    "The   naïve   façade of the Ĳssel hotel,\n\n\twith résumé writers 🙂 and coöperative "
    "señoritas, opened in 1889. Straße und Fußgänger; 北京大学 was founded in 1898. "
)
PLAIN_TEXT = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under "
    "their leader Rollo, agreed to swear fealty to King Charles III of West Francia. "
)
QUESTION = "Who gave their name to Normandy in the 10th century?"


def _reader(model_dir: Path, **kwargs: object) -> ExtractiveReader:
    return ExtractiveReader(model=str(model_dir), **{**GEOMETRY, **kwargs})  # type: ignore[arg-type]


def _models(request: pytest.FixtureRequest, name: str) -> tuple[Path, bool]:
    # (model dir, whether the model gets token type ids from the tokenizer)
    return request.getfixturevalue(name), name == "tiny_bert"


ALL_MODELS = ["tiny_bert", "tiny_distilbert", "tiny_roberta"]


def _oracle(model_dir: Path, token_types: bool, question: str, contexts: list[str]):
    return brute_force_answer(
        model_dir,
        question,
        contexts,
        pass_token_types=token_types,
        max_seq_len=GEOMETRY["max_seq_len"],
        doc_stride=GEOMETRY["doc_stride"],
        max_answer_length=GEOMETRY["max_answer_length"],
    )


@pytest.mark.parametrize("model_name", ALL_MODELS)
def test_top_span_is_the_brute_force_best_over_all_windows(request: pytest.FixtureRequest, model_name: str) -> None:
    model_dir, token_types = _models(request, model_name)
    contexts = [PLAIN_TEXT * 3, UNICODE_TEXT * 2, "Rollo was a Viking leader."]
    expected = _oracle(model_dir, token_types, QUESTION, contexts)
    assert len(expected.window_nulls) > 6  # the long documents really span many windows
    docs = [Document(text) for text in contexts]
    best = expected.best
    assert best is not None
    for align, (start, end) in [(False, (best.char_start, best.char_end)), (True, (best.word_start, best.word_end))]:
        reader = _reader(model_dir, top_k=1, no_answer=False, align_to_words=align)
        (top,) = reader.run(query=QUESTION, documents=docs)["answers"]
        assert top.document is docs[best.doc]
        assert (top.document_span.start, top.document_span.end) == (start, end)  # type: ignore[union-attr]
        assert top.score == pytest.approx(best.score, abs=1e-4)
        assert top.text == contexts[best.doc][start:end]


def test_answer_text_is_exactly_the_chosen_tokens_or_words_in_unicode_text(tiny_bert: Path) -> None:
    contexts = [UNICODE_TEXT * 3]
    for question in ["Where is the hotel?", "What was founded?", "Who served dessert?"]:
        best = _oracle(tiny_bert, True, question, contexts).best
        assert best is not None
        raw = _reader(tiny_bert, top_k=1, no_answer=False, align_to_words=False)
        (top,) = raw.run(query=question, documents=[Document(contexts[0])])["answers"]
        assert top.text == contexts[0][best.char_start : best.char_end]  # the tokens' own characters, exactly
        (top,) = _reader(tiny_bert, top_k=1, no_answer=False).run(query=question, documents=[Document(contexts[0])])[
            "answers"
        ]
        assert top.text == contexts[0][best.word_start : best.word_end]  # their whole words, exactly


@pytest.mark.parametrize("model_name", ALL_MODELS)
def test_no_answer_decision_is_the_null_score_comparison(request: pytest.FixtureRequest, model_name: str) -> None:
    model_dir, token_types = _models(request, model_name)
    contexts = [PLAIN_TEXT * 2, UNICODE_TEXT]
    expected = _oracle(model_dir, token_types, QUESTION, contexts)
    assert expected.best is not None
    assert len(set(expected.window_nulls)) > 1  # the minimum is over genuinely different window null scores
    margin = expected.best.score - expected.null
    docs = [Document(text) for text in contexts]
    for threshold, says_no_answer in [(margin - 0.05, False), (margin + 0.05, True)]:
        answers = _reader(model_dir, top_k=3, no_answer_threshold=threshold).run(query=QUESTION, documents=docs)
        answers = answers["answers"]
        no_answers = [a for a in answers if a.is_no_answer]
        assert len(no_answers) == 1
        assert no_answers[0].score == pytest.approx(expected.null, abs=1e-4)
        assert no_answers[0].meta["no_answer_margin"] == pytest.approx(margin, abs=1e-4)
        assert no_answers[0].document is None
        assert answers[0].is_no_answer is says_no_answer


def test_threshold_given_to_run_overrides_init(tiny_bert: Path) -> None:
    docs = [Document(PLAIN_TEXT)]
    reader = _reader(tiny_bert, no_answer_threshold=-1e9)
    assert not reader.run(query=QUESTION, documents=docs)["answers"][0].is_no_answer
    assert reader.run(query=QUESTION, documents=docs, no_answer_threshold=1e9)["answers"][0].is_no_answer


def test_probabilities_are_one_softmax_with_the_null(tiny_bert: Path) -> None:
    answers = _reader(tiny_bert, top_k=5).run(query=QUESTION, documents=[Document(PLAIN_TEXT * 2)])["answers"]
    null = next(a for a in answers if a.is_no_answer)
    assert 0 < sum(a.probability for a in answers) <= 1 + 1e-9
    for answer in answers:
        # same normalizer for everyone: probability ratios are score differences
        assert answer.probability / null.probability == pytest.approx(math.exp(answer.score - null.score), rel=1e-6)


def test_answers_map_back_into_the_original_source(tiny_bert: Path) -> None:
    from transformers import AutoTokenizer

    source = Document((UNICODE_TEXT + PLAIN_TEXT) * 3)
    cuts = [0, 150, 151, 420, 700, len(source.content)]
    passages = [
        Document(source.content[a:b], meta={SOURCE_ID: source.id, SOURCE_START: a, SOURCE_END: b})
        for a, b in itertools.pairwise(cuts)
    ]
    answers = _reader(tiny_bert, top_k=25).run(query=QUESTION, documents=passages)["answers"]
    spans = [a for a in answers if not a.is_no_answer]
    assert len(spans) == 25
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    for answer in spans:
        assert answer.document is not None and answer.span is not None and answer.document_span is not None
        assert answer.text == answer.document.content[answer.document_span.start : answer.document_span.end]
        assert answer.text == source.content[answer.span.start : answer.span.end]
        assert answer.source_id == source.id
        offsets = tokenizer(answer.document.content, add_special_tokens=False, return_offsets_mapping=True)
        starts = {s for s, _ in offsets["offset_mapping"]}
        ends = {e for _, e in offsets["offset_mapping"]}
        assert answer.document_span.start in starts and answer.document_span.end in ends


def test_overlapping_answers_in_one_document_are_deduplicated(tiny_bert: Path) -> None:
    answers = _reader(tiny_bert, top_k=10, no_answer=False).run(query=QUESTION, documents=[Document(PLAIN_TEXT * 4)])[
        "answers"
    ]
    spans = [(a.document_span.start, a.document_span.end) for a in answers]  # type: ignore[union-attr]
    assert len(spans) == 10
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1 :]:
            assert e1 <= s2 or e2 <= s1
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)


def _key(answers: list[Answer]) -> list[tuple[object, ...]]:
    return [(a.text, a.document.id if a.document else None, a.span.to_dict() if a.span else None) for a in answers]


@pytest.mark.parametrize("model_name", ALL_MODELS)
def test_independent_of_batch_size_and_document_order(request: pytest.FixtureRequest, model_name: str) -> None:
    model_dir, _ = _models(request, model_name)
    docs = [
        Document(PLAIN_TEXT * 2),
        Document(UNICODE_TEXT),
        Document("Rollo led the Vikings."),
        Document(""),
    ]
    reference = _reader(model_dir, top_k=6, batch_size=1).run(query=QUESTION, documents=docs)["answers"]
    for batch_size, order in [(3, docs), (64, docs), (64, docs[::-1]), (2, docs[1:] + docs[:1])]:
        answers = _reader(model_dir, top_k=6, batch_size=batch_size).run(query=QUESTION, documents=order)
        assert _key(answers["answers"]) == _key(reference)
        assert [a.score for a in answers["answers"]] == pytest.approx([a.score for a in reference], abs=1e-4)
        probabilities = [a.probability for a in answers["answers"]]
        assert probabilities == pytest.approx([a.probability for a in reference], abs=1e-5)


def test_run_batch_equals_separate_runs(tiny_bert: Path) -> None:
    reader = _reader(tiny_bert, top_k=3, batch_size=5)
    questions = [QUESTION, "What was founded in 1898?", "Who was Rollo?"]
    documents = [[Document(PLAIN_TEXT)], [Document(UNICODE_TEXT), Document(PLAIN_TEXT)], []]
    batched = reader.run_batch(query=questions, documents=documents)["answers"]
    assert len(batched) == 3
    for question, docs, answers in zip(questions, documents, batched, strict=True):
        alone = reader.run(query=question, documents=docs)["answers"]
        assert _key(answers) == _key(alone)
        assert [a.score for a in answers] == pytest.approx([a.score for a in alone], abs=1e-4)
        assert all(a.query == question for a in answers)


def test_no_documents_and_blank_documents(tiny_bert: Path) -> None:
    reader = _reader(tiny_bert)
    (only,) = reader.run(query=QUESTION, documents=[])["answers"]
    assert only.is_no_answer and only.probability == 1.0
    (only,) = reader.run(query=QUESTION, documents=[Document(""), Document("  \n\t ")])["answers"]
    assert only.is_no_answer and only.probability == 1.0
    assert _reader(tiny_bert, no_answer=False).run(query=QUESTION, documents=[])["answers"] == []
    blank, real = Document(""), Document(PLAIN_TEXT)
    answers = reader.run(query=QUESTION, documents=[blank, real])["answers"]
    assert all(a.document is real for a in answers if not a.is_no_answer)


@pytest.mark.parametrize("question", ["", "   \n", None])
def test_empty_question_is_an_error(tiny_bert: Path, question: object) -> None:
    with pytest.raises(ComponentError, match="query"):
        _reader(tiny_bert).run(query=question, documents=[Document(PLAIN_TEXT)])  # type: ignore[arg-type]


def test_bad_top_k_and_parameters(tiny_bert: Path) -> None:
    with pytest.raises(ComponentError, match="top_k"):
        ExtractiveReader(model=str(tiny_bert), top_k=0)
    with pytest.raises(ComponentError, match="top_k"):
        _reader(tiny_bert).run(query=QUESTION, documents=[Document(PLAIN_TEXT)], top_k=0)
    with pytest.raises(ComponentError, match="max_answer_length"):
        ExtractiveReader(model=str(tiny_bert), max_answer_length=0)
    for name in ("batch_size", "max_batch_tokens"):  # None: the device's plan decides
        with pytest.raises(ComponentError, match=f"^ExtractiveReader: {name} must be an integer >= 1 or None, got 0$"):
            ExtractiveReader(model=str(tiny_bert), **{name: 0})  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="doc_stride"):
        ExtractiveReader(model=str(tiny_bert), max_seq_len=64, max_query_length=16, doc_stride=50).warm_up()
    with pytest.raises(ComponentError, match="device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'nonsense'"):
        ExtractiveReader(model=str(tiny_bert), device="nonsense").warm_up()
    with pytest.raises(ComponentError, match="2 queries but 1"):
        _reader(tiny_bert).run_batch(query=["a?", "b?"], documents=[[Document(PLAIN_TEXT)]])


def test_long_question_is_truncated_with_one_warning(tiny_bert: Path) -> None:
    reader = _reader(tiny_bert, max_query_length=8)
    long_question = "Which " + "very " * 40 + "old people gave their name to Normandy?"
    with pytest.warns(UserWarning, match="max_query_length=8"):
        first = reader.run(query=long_question, documents=[Document(PLAIN_TEXT)])["answers"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = reader.run(query=long_question, documents=[Document(PLAIN_TEXT)])["answers"]
    assert _key(first) == _key(second)
    assert all(a.query == long_question for a in first)  # answers keep the question as asked
    # the truncated question is answered like its first 8 tokens
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    ids = tokenizer(long_question, add_special_tokens=False)["input_ids"][:8]
    short = tokenizer.decode(ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_short = _reader(tiny_bert, max_query_length=8).run(query=short, documents=[Document(PLAIN_TEXT)])
    assert _key(as_short["answers"]) == _key(first)


def test_component_contract(tiny_bert: Path) -> None:
    reader = _reader(tiny_bert, top_k=2)
    params = init_parameters(reader)
    assert params["model"] == str(tiny_bert) and params["top_k"] == 2 and params["n_best_per_window"] == 20
    reader.warm_up()
    loaded = reader._model
    reader.warm_up()
    assert reader._model is loaded


@pytest.mark.heavy
def test_minilm_sized_model_matches_the_oracle(tmp_path: Path) -> None:
    from shared_assets import build_tiny_bert

    model_dir = build_tiny_bert(
        tmp_path / "minilm",
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=1536,
    )
    geometry = {"max_seq_len": 384, "doc_stride": 128, "max_answer_length": 30}
    context = (PLAIN_TEXT + UNICODE_TEXT) * 6
    expected = brute_force_answer(model_dir, QUESTION, [context], pass_token_types=True, **geometry)
    reader = ExtractiveReader(model=str(model_dir), top_k=1, batch_size=4, **geometry)
    answers = reader.run(query=QUESTION, documents=[Document(context)])["answers"]
    assert expected.best is not None and len(expected.window_nulls) >= 3
    top = next(a for a in answers if not a.is_no_answer)
    assert (top.document_span.start, top.document_span.end) == (
        expected.best.word_start,
        expected.best.word_end,
    )  # type: ignore[union-attr]
    null = next(a for a in answers if a.is_no_answer)
    assert null.score == pytest.approx(expected.null, abs=1e-3)
