from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docqa.core.component import init_parameters
from docqa.core.pipeline import Pipeline
from docqa.errors import PipelineError
from docqa.pipelines import ExtractiveQAPipeline, build_bm25_qa_pipeline
from docqa.schema import Answer, Document

TEXTS = [
    ("Paris is the capital and largest city of France.", "fr"),
    ("Berlin is the capital of Germany and its largest city.", "de"),
    ("The Seine flows through Paris before reaching the English Channel.", "fr"),
    ("Mount Everest is the highest mountain above sea level.", "np"),
]


@pytest.fixture
def store(tmp_path: Path) -> Any:  # an InMemoryDocumentStore
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    store.write_documents([Document(text, meta={"country": country}) for text, country in TEXTS])
    store.save()
    return store


def check_answers(answers: list[Answer], query: str, documents: list[Document]) -> None:
    """Every span answer points at its text inside one of the documents read."""
    ids = {d.id for d in documents}
    assert answers
    for answer in answers:
        assert isinstance(answer, Answer) and answer.query == query
        assert 0.0 <= answer.probability <= 1.0
        if answer.text is not None:
            assert answer.document is not None and answer.document.id in ids
            assert answer.document_span is not None
            assert answer.document_span.slice(answer.document.content) == answer.text


def test_run_returns_answers_from_the_retrieved_documents(store: Any, tiny_bert_qa_dir: Path) -> None:
    qa = ExtractiveQAPipeline.bm25(store, model=str(tiny_bert_qa_dir), retriever_top_k=2, reader_top_k=3)
    query = "What is the capital of France?"
    result = qa.run(query)
    expected = [d.id for d in store.bm25_retrieval(query, top_k=2)]
    assert [d.id for d in result["documents"]] == expected
    check_answers(result["answers"], query, result["documents"])
    assert sum(a.text is not None for a in result["answers"]) <= 3


def test_top_k_and_filters_reach_their_components(store: Any, tiny_bert_qa_dir: Path) -> None:
    qa = ExtractiveQAPipeline.bm25(store, model=str(tiny_bert_qa_dir), retriever_top_k=3, reader_top_k=3)
    query = "largest city capital"
    result = qa.run(query, top_k_retriever=1, top_k_reader=1)
    assert len(result["documents"]) == 1
    assert sum(a.text is not None for a in result["answers"]) <= 1
    german = {"field": "meta.country", "operator": "==", "value": "de"}
    result = qa.run(query, filters=german)
    assert [d.meta["country"] for d in result["documents"]] == ["de"]
    check_answers(result["answers"], query, result["documents"])


def test_run_batch_matches_run(store: Any, tiny_bert_qa_dir: Path) -> None:
    qa = ExtractiveQAPipeline.bm25(store, model=str(tiny_bert_qa_dir), retriever_top_k=2, reader_top_k=2)
    queries = ["capital of France", "highest mountain", "Seine river"]
    batched = qa.run_batch(queries)
    for query, result in zip(queries, batched, strict=True):
        single = qa.run(query)
        assert [d.id for d in result["documents"]] == [d.id for d in single["documents"]]
        assert [(a.text, a.document_span) for a in result["answers"]] == [
            (a.text, a.document_span) for a in single["answers"]
        ]
        for mine, theirs in zip(result["answers"], single["answers"], strict=True):
            assert mine.probability == pytest.approx(theirs.probability, abs=1e-4)


def test_yaml_round_trip_keeps_every_parameter_and_the_answers(store, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    pipeline = build_bm25_qa_pipeline(
        store,
        model=str(tiny_bert_qa_dir),
        retriever_top_k=3,
        reader_top_k=2,
        reader_parameters={"max_seq_len": 256, "doc_stride": 64},
    )
    path = tmp_path / "qa.yaml"
    pipeline.dump(path)
    again = Pipeline.load(path)
    for name, component in pipeline.components.items():
        original = {k: v for k, v in init_parameters(component).items() if k != "document_store"}
        assert init_parameters(again.get_component(name)) | {"document_store": None} == original | {
            "document_store": None
        }
    assert init_parameters(again.get_component("reader"))["doc_stride"] == 64
    assert again.document_stores["store"].count_documents() == len(TEXTS)
    query = "Which city is the capital of Germany?"
    first = pipeline.run({"query": query})["reader"]["answers"]
    second = again.run({"query": query})["reader"]["answers"]
    assert [(a.text, a.span, a.document.id if a.document else None) for a in first] == [
        (a.text, a.span, a.document.id if a.document else None) for a in second
    ]
    assert [a.probability for a in second] == pytest.approx([a.probability for a in first], abs=1e-5)


def test_from_pipeline_needs_a_reader_with_connected_documents(store: Any) -> None:
    from docqa.retrievers.bm25_retriever import BM25Retriever

    pipeline = Pipeline()
    pipeline.add_component("retriever", BM25Retriever(document_store=store))
    with pytest.raises(PipelineError, match="no component named 'reader'"):
        ExtractiveQAPipeline.from_pipeline(pipeline)


def test_load_wraps_a_pipeline_file(store: Any, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "qa.yaml"
    path.write_text(
        "document_stores:\n"
        "  store: {type: InMemoryDocumentStore, init_parameters: {path: ./store}}\n"
        "components:\n"
        "  retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 2}}\n"
        f"  reader: {{type: ExtractiveReader, init_parameters: {{model: {tiny_bert_qa_dir}, top_k: 2}}}}\n"
        "connections:\n"
        "  - {sender: retriever.documents, receiver: reader.documents}\n"
    )
    qa = ExtractiveQAPipeline.load(path)
    assert qa.retrievers == ["retriever"]
    result = qa.run("highest mountain", top_k_retriever=1)
    assert result["documents"][0].content == TEXTS[3][0]
    check_answers(result["answers"], "highest mountain", result["documents"])
