"""EmbeddingRetriever (exact and ANN) against numpy brute force, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from docqa.core.component import init_parameters
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.errors import ComponentError, DocqaError
from docqa.retrievers.embedding_retriever import EmbeddingRetriever
from docqa.schema import Document

DIM = 16


def _corpus(n: int, seed: int = 0) -> tuple[list[Document], np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32) * rng.uniform(0.5, 2.0, (n, 1)).astype(np.float32)
    docs = [Document(f"doc {i}", meta={"group": i % 3, "even": i % 2 == 0}, embedding=vectors[i]) for i in range(n)]
    return docs, vectors


def _brute_force(vectors: np.ndarray, query: np.ndarray, similarity: str, rows: np.ndarray, k: int):
    matrix = vectors[rows].astype(np.float64)
    q = query.astype(np.float64)
    scores = matrix @ q
    if similarity == "cosine":
        scores = scores / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))
    order = np.argsort(-scores, kind="stable")[:k]
    return [f"doc {rows[i]}" for i in order], scores[order]


@pytest.fixture()
def store_and_vectors() -> tuple[InMemoryDocumentStore, np.ndarray]:
    docs, vectors = _corpus(300)
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    return store, vectors


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
@pytest.mark.parametrize("ann", [False, True])
def test_matches_brute_force(store_and_vectors, similarity: str, ann: bool) -> None:
    store, vectors = store_and_vectors
    retriever = EmbeddingRetriever(store, top_k=7, similarity=similarity, ann=ann, ann_ef_search=300)
    rng = np.random.default_rng(1)
    for _ in range(10):
        query = rng.standard_normal(DIM).astype(np.float32)
        out = retriever.run(query)["documents"]
        contents, scores = _brute_force(vectors, query, similarity, np.arange(len(vectors)), 7)
        # a 300-point HNSW graph searched with ef=300 visits every point: exact results are expected
        assert [d.content for d in out] == contents
        assert [d.score for d in out] == pytest.approx(list(scores), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("ann", [False, True])
def test_filters_and_top_k(store_and_vectors, ann: bool) -> None:
    store, vectors = store_and_vectors
    group_1 = {"field": "meta.group", "operator": "==", "value": 1}
    retriever = EmbeddingRetriever(store, top_k=5, ann=ann, filters=group_1)
    query = np.random.default_rng(2).standard_normal(DIM).astype(np.float32)
    rows = np.arange(1, len(vectors), 3)
    expected, _ = _brute_force(vectors, query, "cosine", rows, 5)
    assert [d.content for d in retriever.run(query)["documents"]] == expected
    # run-time filters replace the init filters; run-time top_k replaces the init top_k
    even = {"field": "meta.even", "operator": "==", "value": True}
    expected_even, _ = _brute_force(vectors, query, "cosine", np.arange(0, len(vectors), 2), 3)
    assert [d.content for d in retriever.run(query, top_k=3, filters=even)["documents"]] == expected_even


def test_ann_selective_filter_falls_back_to_exact(store_and_vectors) -> None:
    store, vectors = store_and_vectors
    wanted = {"field": "content", "operator": "in", "value": ["doc 3", "doc 150", "doc 299"]}
    retriever = EmbeddingRetriever(store, top_k=3, ann=True, ann_overfetch=1, ann_ef_search=3)
    query = vectors[0]
    out = retriever.run(query, filters=wanted)["documents"]
    expected, _ = _brute_force(vectors, query, "cosine", np.array([3, 150, 299]), 3)
    assert [d.content for d in out] == expected


def test_ann_index_follows_store_changes() -> None:
    docs, vectors = _corpus(50)
    store = InMemoryDocumentStore()
    store.write_documents(docs[:40])
    retriever = EmbeddingRetriever(store, top_k=1, ann=True)
    query = vectors[45]
    first = retriever.run(query)["documents"][0]
    assert first.content != "doc 45"
    store.write_documents(docs[40:])
    assert retriever.run(query)["documents"][0].content == "doc 45"
    store.delete_documents([docs[45].id])
    assert retriever.run(query)["documents"][0].content != "doc 45"


def test_returned_documents_are_copies(store_and_vectors) -> None:
    store, vectors = store_and_vectors
    for ann in (False, True):
        out = EmbeddingRetriever(store, top_k=1, ann=ann).run(vectors[0])["documents"]
        out[0].meta["changed"] = True
        out[0].score = -1.0
    assert "changed" not in store.get_documents_by_id([out[0].id])[0].meta


@pytest.mark.parametrize("ann", [False, True])
def test_errors_are_explicit(store_and_vectors, ann: bool) -> None:
    store, _ = store_and_vectors
    retriever = EmbeddingRetriever(store, ann=ann)
    with pytest.raises(DocqaError, match=f"dimension.*{DIM}"):
        retriever.run(np.ones(DIM + 1, dtype=np.float32))
    bad = np.ones(DIM, dtype=np.float32)
    bad[3] = np.nan
    with pytest.raises(DocqaError, match="NaN"):
        retriever.run(bad)
    with pytest.raises(DocqaError, match="all-zero"):
        retriever.run(np.zeros(DIM, dtype=np.float32))
    with pytest.raises(DocqaError, match="1-D"):
        retriever.run(np.ones((2, DIM), dtype=np.float32))
    with pytest.raises(ComponentError, match="top_k"):
        retriever.run(np.ones(DIM, dtype=np.float32), top_k=0)


@pytest.mark.parametrize("ann", [False, True])
def test_store_without_embeddings_is_an_error(ann: bool) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("no vector here")])
    with pytest.raises(DocqaError, match="embedding"):
        EmbeddingRetriever(store, ann=ann).run(np.ones(4, dtype=np.float32))
    with pytest.raises(DocqaError, match="embedding"):
        EmbeddingRetriever(InMemoryDocumentStore(), ann=ann).run(np.ones(4, dtype=np.float32))


def test_config_validation_and_init_parameters() -> None:
    store = InMemoryDocumentStore()
    with pytest.raises(ComponentError, match="similarity"):
        EmbeddingRetriever(store, similarity="euclidean")  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="embedding_retrieval"):
        EmbeddingRetriever(object())
    params = init_parameters(EmbeddingRetriever(store, top_k=4, ann=True))
    assert params["document_store"] is store and params["top_k"] == 4 and params["ann"] is True
