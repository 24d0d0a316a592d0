"""Keyword and embedding retrieval on every store, checked against brute force and through the retrievers."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.errors import ComponentError, DocumentStoreError
from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.retrievers.embedding_retriever import EmbeddingRetriever
from docqa.schema import Document

TEXTS = [
    "Paris is the capital and largest city of France.",
    "Berlin is the capital of Germany.",
    "The Seine flows through Paris.",
    "Bananas are yellow fruit.",
    "Germany borders France to the east.",
]


def _embedded(n: int = 300, dim: int = 16, seed: int = 0) -> tuple[list[Document], np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    docs = [Document(f"doc {i}", meta={"bucket": i % 10}, embedding=vectors[i]) for i in range(n)]
    return docs, vectors


def _brute_force(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int, cosine: bool) -> list[int]:
    scores = vectors @ query
    if cosine:
        scores = scores / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    order = [i for i in np.argsort(-scores, kind="stable") if allowed[i]]
    return order[:k]


def test_keyword_matches_any_term_best_first(store: Any) -> None:
    store.write_documents([Document(text) for text in TEXTS])
    hits = store.keyword_retrieval("capital of France", top_k=5)
    contents = [doc.content for doc in hits]
    assert contents[0] == TEXTS[0]  # both terms
    assert set(contents) == {TEXTS[0], TEXTS[1], TEXTS[4]}  # any term: not only documents with all of them
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))  # type: ignore[operator]


def test_keyword_with_filters_and_no_match(store: Any) -> None:
    store.write_documents([Document(text, meta={"i": i}) for i, text in enumerate(TEXTS)])
    hits = store.keyword_retrieval("capital", filters={"field": "meta.i", "operator": ">", "value": 0})
    assert [doc.content for doc in hits] == [TEXTS[1]]
    assert store.keyword_retrieval("zebra") == []


def test_bm25_retriever_works_with_every_keyword_store(store: Any) -> None:
    store.write_documents([Document(text) for text in TEXTS])
    documents = BM25Retriever(store, top_k=2).run("Seine river Paris")["documents"]
    assert documents[0].content == TEXTS[2]


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
def test_embedding_retrieval_equals_brute_force(store: Any, similarity: str) -> None:
    docs, vectors = _embedded()
    store.write_documents(docs)
    query = np.random.default_rng(1).normal(size=16).astype(np.float32)
    hits = store.embedding_retrieval(query, top_k=10, similarity=similarity)
    expected = _brute_force(vectors, query, np.ones(len(docs), bool), 10, similarity == "cosine")
    assert [doc.id for doc in hits] == [docs[i].id for i in expected]
    raw = vectors[expected] @ query
    if similarity == "cosine":
        raw = raw / (np.linalg.norm(vectors[expected], axis=1) * np.linalg.norm(query))
    np.testing.assert_allclose([doc.score for doc in hits], raw, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("buckets", [[3], [1, 2, 3, 4, 5]])
def test_filtered_embedding_retrieval_returns_top_k(store: Any, buckets: list[int]) -> None:
    docs, vectors = _embedded()
    store.write_documents(docs)
    query = np.random.default_rng(2).normal(size=16).astype(np.float32)
    filters = {"field": "meta.bucket", "operator": "in", "value": buckets}
    hits = EmbeddingRetriever(store, top_k=10).run(query, filters=filters)["documents"]
    allowed = np.array([doc.meta["bucket"] in buckets for doc in docs])
    assert [doc.id for doc in hits] == [docs[i].id for i in _brute_force(vectors, query, allowed, 10, True)]


def test_embedding_errors(store: Any) -> None:
    with pytest.raises(DocumentStoreError, match="no document"):
        store.embedding_retrieval([1.0, 0.0])
    store.write_documents([Document("x", embedding=[1.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="dimension"):
        store.embedding_retrieval([1.0, 0.0, 0.0])
    with pytest.raises(DocumentStoreError, match="all-zero"):
        store.embedding_retrieval([0.0, 0.0])


def test_embedding_model_is_remembered(store: Any) -> None:
    assert store.embedding_model is None
    store.embedding_model = "sentence-transformers/all-MiniLM-L6-v2"
    assert store.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"


def test_postgres_hnsw_search_has_high_recall(make_pg_store: Any) -> None:
    docs, vectors = _embedded(n=2000, dim=16, seed=3)
    store = make_pg_store()
    store.write_documents(docs)
    rng = np.random.default_rng(4)
    recalls = []
    for _ in range(20):
        query = rng.normal(size=16).astype(np.float32)
        approx = {doc.id for doc in store.embedding_retrieval(query, top_k=10, exact=False)}
        exact = {doc.id for doc in store.embedding_retrieval(query, top_k=10, exact=True)}
        assert exact == {docs[i].id for i in _brute_force(vectors, query, np.ones(len(docs), bool), 10, True)}
        recalls.append(len(approx & exact) / 10)
    assert np.mean(recalls) >= 0.95


def test_postgres_keyword_modes(make_pg_store: Any) -> None:
    store = make_pg_store(table="modes_or")
    both = make_pg_store(table="modes_and", keyword_mode="and")
    web = make_pg_store(table="modes_web", keyword_mode="websearch")
    for each in (store, both, web):
        each.write_documents([Document(text) for text in TEXTS])
    assert len(store.keyword_retrieval("capital France bananas")) == 4
    assert both.keyword_retrieval("capital France bananas") == []  # plainto_tsquery: every term (cookbook #255)
    assert [d.content for d in web.keyword_retrieval('"capital of Germany" -France')] == [TEXTS[1]]


def test_bm25_parameters_need_a_bm25_store(make_pg_store: Any) -> None:
    with pytest.raises(ComponentError, match="own formula"):
        BM25Retriever(make_pg_store(keyword_mode="or"), k1=1.2)  # ts_rank_cd
    BM25Retriever(make_pg_store(table="bm25_params"), k1=1.2)  # the default keyword mode is BM25
    BM25Retriever(InMemoryDocumentStore(), k1=1.2)
