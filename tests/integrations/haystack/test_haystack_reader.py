"""The Haystack ExtractiveReader answers exactly as docqa's own reader, as ExtractedAnswers filled as Haystack
users expect (exact offsets and context, pages as Haystack counts them, the no-answer with data=None)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from haystack import Document, ExtractedAnswer
from haystack.components.preprocessors import DocumentSplitter
from hypothesis import given, settings
from hypothesis import strategies as st

from docqa import ExtractiveReader as DocqaReader
from docqa import schema
from docqa.integrations.haystack import ExtractiveReader
from docqa.integrations.haystack.answers import PAGE_KEY, context_bounds


@pytest.fixture(scope="module")
def reader(shared_reader: str) -> ExtractiveReader:
    component = ExtractiveReader(model=shared_reader, top_k=3, max_seq_len=256, doc_stride=96)
    component.warm_up()
    return component


@pytest.fixture(scope="module")
def held_out(squad_dev_half: Any) -> list[tuple[str, list[Document]]]:
    """4 questions of the held-out articles, each with its paragraph and the article's next one."""
    articles = json.loads(squad_dev_half.read_text(encoding="utf-8"))["data"][-4:]
    cases = []
    for article in articles:
        paragraphs = article["paragraphs"]
        for index in (0,):
            group = [Document(content=paragraphs[index + k]["context"]) for k in range(2)]
            cases.append((paragraphs[index]["qas"][-1]["question"], group))
    return cases


def check_exact(answer: ExtractedAnswer, documents: list[Document]) -> None:
    """Offsets and context of a span answer point at its text, in the very document object that was given."""
    assert answer.document is not None and any(answer.document is d for d in documents)
    assert answer.document_offset is not None and answer.context_offset is not None and answer.context is not None
    start, end = answer.document_offset.start, answer.document_offset.end
    assert answer.document.content[start:end] == answer.data
    assert answer.context[answer.context_offset.start : answer.context_offset.end] == answer.data
    context_start = start - answer.context_offset.start
    assert answer.document.content[context_start : context_start + len(answer.context)] == answer.context


def test_answers_equal_docqa_readers_own(reader: ExtractiveReader, held_out: list[Any]) -> None:
    own = reader.reader  # docqa's reader, built from the component's settings (test_settings_... checks them)
    queries = [query for query, _ in held_out]
    docqa_documents = [[schema.Document(d.content) for d in documents] for _, documents in held_out]
    batched = reader.run_batch(queries, [documents for _, documents in held_out])["answers"]
    expected_batched = own.run_batch(queries, docqa_documents)["answers"]
    for (query, documents), mine, theirs in zip(held_out, batched, expected_batched, strict=True):
        check_same(mine, theirs, query, documents)
    for (query, documents), docqa_group in zip(held_out[:1], docqa_documents, strict=False):
        check_same(reader.run(query, documents)["answers"], own.run(query, docqa_group)["answers"], query, documents)


def check_same(mine: list[ExtractedAnswer], theirs: list[schema.Answer], query: str, documents: list[Document]) -> None:
    """The ExtractedAnswers are docqa's answers, one for one, with the given documents."""
    assert [(a.data, a.score, a.meta) for a in mine] == [
        (a.text, a.probability, {**a.meta, "logit_score": a.score}) for a in theirs
    ]
    for answer, docqa_answer in zip(mine, theirs, strict=True):
        assert answer.query == query
        if answer.data is None:
            assert answer.document is None and docqa_answer.document is None
            continue
        check_exact(answer, documents)
        assert docqa_answer.document is not None and docqa_answer.document_span is not None
        assert answer.document.content == docqa_answer.document.content  # type: ignore[union-attr]
        span = docqa_answer.document_span
        assert (answer.document_offset.start, answer.document_offset.end) == (span.start, span.end)  # type: ignore[union-attr]


def test_no_answer_is_an_answer_without_data(reader: ExtractiveReader) -> None:
    answers = reader.run("Who wrote Hamlet?", [Document(content="Bananas.")], top_k=5)["answers"]  # few spans
    no_answer = [a for a in answers if a.data is None]
    assert len(no_answer) == 1 and no_answer[0].document is None and no_answer[0].document_offset is None
    assert isinstance(no_answer[0].meta["no_answer_margin"], float)
    assert sum(a.score for a in answers) <= 1.0 + 1e-9
    nothing = reader.run("Who wrote Hamlet?", [Document(content=None), Document(content="  ")])["answers"]
    assert [(a.data, a.score, a.meta["no_answer_margin"]) for a in nothing] == [(None, 1.0, None)]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab \n.", max_size=60),
    bounds=st.tuples(st.integers(0, 60), st.integers(0, 60)),
    size=st.one_of(st.none(), st.integers(0, 70)),
)
def test_context_is_a_window_of_whole_words_around_the_span(
    text: str, bounds: tuple[int, int], size: int | None
) -> None:
    start, end = sorted(min(b, len(text)) for b in bounds)
    first, last = context_bounds(text, start, end, size)
    assert 0 <= first <= start <= end <= last <= len(text)
    if size is None:
        assert (first, last) == (0, len(text))
        return
    assert last - first <= max(size, end - start)
    for edge, inside, outside in ((first, first, first - 1), (last, last - 1, last)):
        cut_word = all(0 <= i < len(text) and not text[i].isspace() for i in (inside, outside))
        assert not cut_word or edge in (start, end)  # a word is cut only by the span's own edge
    if len(text) <= size:
        assert (first, last) == (0, len(text))  # room for everything: the whole text


def test_context_of_real_answers_is_exact(reader: ExtractiveReader) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    document = Document(content=f"{words} My name is John and I live in Hyderabad. {words}")
    answers = [a for a in reader.run("Where do I live?", [document])["answers"] if a.data is not None]
    assert answers
    for answer in answers:
        check_exact(answer, [document])
        assert answer.context is not None and len(answer.data or "") <= len(answer.context) <= 150


def test_pages_as_haystack_splitter_and_form_feeds_say(reader: ExtractiveReader) -> None:
    pages = [
        "My name is John and I live in Seattle. The weather is often rainy there.",
        "My name is Ravi and I live in Hyderabad. The city is known for its biryani.",
        "Anna lives in Berlin and works in a bakery near the river Spree.",
    ]
    original = "\f".join(pages)
    splits = DocumentSplitter(split_by="word", split_length=12, split_overlap=3).run([Document(content=original)])
    documents = splits["documents"]
    assert {d.meta["page_number"] for d in documents} == {1, 2, 3}
    answers = reader.run("Where does Ravi live?", documents, top_k=10)["answers"]
    spans = [a for a in answers if a.data is not None]
    assert len(spans) >= 5
    for answer in spans:
        assert answer.document is not None and answer.document_offset is not None
        position = answer.document.meta["split_idx_start"] + answer.document_offset.start
        assert original[position : position + len(answer.data)] == answer.data  # type: ignore[arg-type]
        assert answer.meta[PAGE_KEY] == 1 + original.count("\f", 0, position)
    whole = reader.run("Where does Ravi live?", [Document(content=original)], top_k=10)["answers"]
    for answer in (a for a in whole if a.data is not None):
        assert answer.meta[PAGE_KEY] == 1 + original.count("\f", 0, answer.document_offset.start)  # type: ignore[union-attr]
    plain = reader.run("Where does Ravi live?", [Document(content=pages[1])])["answers"]
    assert all(PAGE_KEY not in a.meta for a in plain)


def test_settings_are_docqa_readers_own_plus_context(shared_reader: str) -> None:
    docqa_parameters = inspect.signature(DocqaReader).parameters
    parameters = inspect.signature(ExtractiveReader).parameters
    assert list(parameters) == [*docqa_parameters, "context_window_size"]
    assert all(parameters[name].default == p.default for name, p in docqa_parameters.items())
    settings = {"model": shared_reader, "top_k": 2, "max_seq_len": 128, "doc_stride": 32, "no_answer": False,
                "backend": "onnx", "quantize": True, "align_to_words": False, "context_window_size": None}  # fmt: skip
    component = ExtractiveReader(**settings)
    assert all(getattr(component.reader, name) == value for name, value in settings.items() if name in docqa_parameters)
    data = component.to_dict()
    assert data["type"] == "docqa.integrations.haystack.extractive_reader.ExtractiveReader"
    assert data["init_parameters"] == {**{name: p.default for name, p in parameters.items()}, **settings}
    assert ExtractiveReader.from_dict(data).to_dict() == data
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_seq_length'; valid parameters: model, "):
        ExtractiveReader(max_seq_length=256)
