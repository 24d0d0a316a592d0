from __future__ import annotations

import numpy as np
import pytest

from docqa.document_stores import DuplicatePolicy, InMemoryDocumentStore
from docqa.errors import DocumentStoreError
from docqa.schema import Document


def build(rng: np.random.Generator, n: int = 80, dim: int = 6) -> tuple[InMemoryDocumentStore, list[Document]]:
    documents = []
    for i in range(n):
        embedding = rng.normal(size=dim) if i % 4 else None  # mixed: some documents have no embedding
        documents.append(Document(f"doc {i}", meta={"i": i, "odd": bool(i % 2)}, embedding=embedding))
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    return store, documents


def oracle(documents: list[Document], query: np.ndarray, similarity: str, k: int, keep=lambda d: True) -> list:
    rows = [d for d in documents if d.embedding is not None and keep(d)]
    matrix = np.array([d.embedding for d in rows], dtype=np.float32).astype(np.float64)
    scores = matrix @ query
    if similarity == "cosine":
        scores = scores / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    order = np.argsort(-scores, kind="stable")[:k]
    return [(rows[i].id, scores[i]) for i in order]


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
@pytest.mark.parametrize("k", [1, 5, 100])
def test_matches_brute_force_oracle(similarity: str, k: int) -> None:
    rng = np.random.default_rng(k)
    store, documents = build(rng)
    for _ in range(5):
        query = rng.normal(size=6)
        expected = oracle(documents, query, similarity, k)
        found = store.embedding_retrieval(query, top_k=k, similarity=similarity)
        assert [doc.id for doc in found] == [doc_id for doc_id, _ in expected]
        np.testing.assert_allclose([doc.score for doc in found], [s for _, s in expected], rtol=1e-5, atol=1e-5)
        assert all(doc.embedding is None for doc in found)


def test_filters_deletes_and_overwrites_are_respected() -> None:
    rng = np.random.default_rng(0)
    store, documents = build(rng)
    store.delete_documents([d.id for d in documents[:30]])
    replaced = Document("doc 31", meta={"i": 31, "odd": True}, embedding=rng.normal(size=6), id=documents[31].id)
    store.write_documents([replaced], policy=DuplicatePolicy.OVERWRITE)
    survivors = [d for d in documents[30:] if d.id != replaced.id] + [replaced]
    query = rng.normal(size=6)
    expected = oracle(survivors, query, "cosine", 7, keep=lambda d: d.meta["odd"])
    found = store.embedding_retrieval(query, top_k=7, filters={"field": "meta.odd", "operator": "==", "value": True})
    assert [doc.id for doc in found] == [doc_id for doc_id, _ in expected]
    few = store.embedding_retrieval(query, top_k=3, filters={"field": "meta.i", "operator": "in", "value": [31, 33]})
    assert sorted(doc.meta["i"] for doc in few) == [31, 33]


def test_embedding_matrix_and_return_embedding() -> None:
    rng = np.random.default_rng(1)
    store, documents = build(rng, n=12)
    vectors, ids = store.embedding_matrix()
    with_embedding = [d for d in documents if d.embedding is not None]
    assert ids == [d.id for d in with_embedding]
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, np.array([d.embedding for d in with_embedding]), rtol=1e-6)
    found = store.embedding_retrieval(with_embedding[0].embedding, top_k=1, return_embedding=True)
    np.testing.assert_allclose(found[0].embedding, with_embedding[0].embedding, rtol=1e-6)
    assert store.get_documents_by_id([documents[0].id])[0].embedding is None  # written without one
    revision = store.revision
    store.delete_documents([with_embedding[0].id])
    assert store.revision > revision
    assert store.embedding_matrix()[1] == ids[1:]


def test_no_embeddings_is_an_error() -> None:
    store = InMemoryDocumentStore()
    with pytest.raises(DocumentStoreError, match="no document in the store has an embedding"):
        store.embedding_retrieval([1.0, 2.0])
    store.write_documents([Document("text only")])
    with pytest.raises(DocumentStoreError, match="no document in the store has an embedding"):
        store.embedding_retrieval([1.0, 2.0])


def test_dimension_mismatch_names_both_dimensions() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("a", embedding=[1.0, 0.0, 0.0])])
    with pytest.raises(DocumentStoreError, match=r"\(2,\).*have 3"):
        store.embedding_retrieval([1.0, 0.0])
    with pytest.raises(DocumentStoreError, match="dimension 4, store has 3"):
        store.write_documents([Document("b", embedding=[1.0, 0.0, 0.0, 0.0])])
    with pytest.raises(DocumentStoreError, match="dimension 2, store has 3"):
        store.write_documents([Document("c", embedding=[1.0, 1.0, 1.0]), Document("d", embedding=[1.0, 1.0])])
    assert store.count_documents() == 1  # the failing batches wrote nothing


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_rejected(bad: float) -> None:
    store = InMemoryDocumentStore()
    with pytest.raises(DocumentStoreError, match="NaN or infinite"):
        store.write_documents([Document("a", embedding=[1.0, bad])])
    assert store.count_documents() == 0
    store.write_documents([Document("a", embedding=[1.0, 2.0])])
    with pytest.raises(DocumentStoreError, match="NaN or infinite"):
        store.embedding_retrieval([bad, 1.0])


def test_other_query_errors() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("a", embedding=[1.0, 2.0])])
    with pytest.raises(DocumentStoreError, match="all-zero"):
        store.embedding_retrieval([0.0, 0.0])
    assert store.embedding_retrieval([0.0, 0.0], similarity="dot_product")[0].score == 0.0
    with pytest.raises(DocumentStoreError, match="unknown similarity"):
        store.embedding_retrieval([1.0, 0.0], similarity="euclid")
    with pytest.raises(DocumentStoreError, match="not a list of numbers"):
        store.embedding_retrieval(["x", "y"])
    with pytest.raises(DocumentStoreError, match="1-D"):
        store.write_documents([Document("m", embedding=[[1.0, 2.0]])])


def test_a_new_dimension_is_allowed_once_no_embedding_is_left() -> None:
    store = InMemoryDocumentStore()
    first = Document("a", embedding=[1.0, 0.0])
    store.write_documents([first, Document("b")])
    store.delete_documents([first.id])
    assert store.embedding_dim is None
    store.write_documents([Document("c", embedding=[0.0, 1.0, 0.0])])
    assert store.embedding_dim == 3
    assert [doc.content for doc in store.embedding_retrieval([0.0, 1.0, 0.0])] == ["c"]
