"""The Haystack retrievers return what docqa's retrievers return on the same store (ids, scores, order), as Haystack
documents, with Haystack's filter policies; their init parameters are docqa's plus filter_policy, round-tripped."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pytest
from haystack import Document

from docqa.integrations.haystack import BM25Retriever, EmbeddingRetriever, InMemoryDocumentStore
from docqa.retrievers import bm25_retriever, embedding_retriever

EN = {"field": "meta.lang", "operator": "==", "value": "en"}
EARLY = {"field": "meta.position", "operator": "<", "value": 30}


@pytest.fixture(scope="module")
def paragraphs(squad_dev_half: Any) -> list[tuple[str, str]]:
    """(paragraph, one of its questions) for the first 60 paragraphs of the held-out articles."""
    articles = json.loads(squad_dev_half.read_text(encoding="utf-8"))["data"][-4:]
    found = [(p["context"], p["qas"][0]["question"]) for article in articles for p in article["paragraphs"]]
    return found[:60]


def documents(paragraphs: list[tuple[str, str]]) -> list[Document]:
    rng = np.random.default_rng(0)
    return [
        Document(content=text, meta={"lang": "en" if i % 3 else "de", "position": i}, embedding=rng.random(8).tolist())
        for i, (text, _) in enumerate(paragraphs)
    ]


def found(documents: list[Any]) -> list[tuple[str, float]]:
    return [(document.id, document.score) for document in documents]


def test_bm25_retriever_returns_docqas_results(make_store: Any, paragraphs: list[tuple[str, str]]) -> None:
    store = make_store()
    store.write_documents(documents(paragraphs))
    mine = BM25Retriever(store, top_k=5, filters=EN)
    theirs = bm25_retriever.BM25Retriever(store.store, top_k=5, filters=EN)
    for _, question in paragraphs[::6]:
        results = mine.run(question)["documents"]
        assert results and all(isinstance(document, Document) for document in results)
        assert found(results) == found(theirs.run(question)["documents"])
        assert all(document.meta["lang"] == "en" for document in results)
        replaced = mine.run(question, filters=EARLY, top_k=3)["documents"]
        assert found(replaced) == found(theirs.run(question, top_k=3, filters=EARLY)["documents"])
    merged = BM25Retriever(store, top_k=5, filters=EN, filter_policy="merge")
    both = {"operator": "AND", "conditions": [EN, EARLY]}
    for _, question in paragraphs[::6]:
        results = merged.run(question, filters=EARLY)["documents"]
        assert found(results) == found(theirs.run(question, filters=both)["documents"])


def test_embedding_retriever_returns_docqas_results(paragraphs: list[tuple[str, str]]) -> None:
    store = InMemoryDocumentStore()
    written = documents(paragraphs)
    store.write_documents(written)
    query = np.random.default_rng(1).random(8).tolist()
    for similarity in ("cosine", "dot_product"):
        mine = EmbeddingRetriever(store, top_k=4, similarity=similarity, filters=EN)
        theirs = embedding_retriever.EmbeddingRetriever(store.store, top_k=4, similarity=similarity, filters=EN)
        results = mine.run(query)["documents"]
        assert found(results) == found(theirs.run(query)["documents"])
        contents = {document.id: document.content for document in written}
        assert [document.content for document in results] == [contents[document.id] for document in results]


@pytest.mark.parametrize(("haystack_class", "docqa_class"), [
    (BM25Retriever, bm25_retriever.BM25Retriever),
    (EmbeddingRetriever, embedding_retriever.EmbeddingRetriever),
])  # fmt: skip
def test_parameters_are_docqas_plus_filter_policy(haystack_class: Any, docqa_class: Any) -> None:
    assert list(inspect.signature(haystack_class).parameters) == [
        *inspect.signature(docqa_class).parameters,
        "filter_policy",
    ]
    store = InMemoryDocumentStore()
    retriever = haystack_class(store, top_k=3, filters=EN, filter_policy="merge")
    data = retriever.to_dict()
    assert data["init_parameters"]["filter_policy"] == "merge"
    assert data["init_parameters"]["document_store"] == store.to_dict()
    assert haystack_class.from_dict(data).to_dict() == data
    with pytest.raises(ValueError, match="document_store must be a docqa store"):
        haystack_class(store.store)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.heavy)])
def make_store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryDocumentStore
    return request.getfixturevalue("make_haystack_pg_store")
