"""The DocumentStore protocol and the duplicate policies, identical on every store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from docqa.document_stores.base import (
    DocumentStore,
    DuplicatePolicy,
    EmbeddingModelRecord,
    EmbeddingRetrievalStore,
    KeywordRetrievalStore,
)
from docqa.errors import DocumentStoreError, DuplicateDocumentError
from docqa.schema import Document


def _docs() -> list[Document]:
    return [
        Document("alpha text", meta={"n": 1, "tags": ["x", "y"], "nested": {"k": "v"}}, embedding=[1.0, 0.0, 0.0]),
        Document("beta text", meta={"n": 2.5, "flag": True, "none": None}, embedding=[0.0, 1.0, 0.0]),
        Document("gamma text", meta={}),
    ]


def test_has_every_capability(store: Any) -> None:
    for protocol in (DocumentStore, KeywordRetrievalStore, EmbeddingRetrievalStore, EmbeddingModelRecord):
        assert isinstance(store, protocol)


def test_write_read_round_trip(store: Any) -> None:
    docs = _docs()
    assert store.write_documents(docs) == 3
    assert store.count_documents() == 3
    stored = store.filter_documents()
    assert [d.id for d in stored] == [d.id for d in docs]
    for original, back in zip(docs, stored, strict=True):
        assert (back.content, back.meta) == (original.content, original.meta)
        if original.embedding is None:
            assert back.embedding is None
        else:
            np.testing.assert_allclose(back.embedding, original.embedding)
    assert store.embedding_dim == 3


def test_get_by_id_keeps_the_order_asked_and_drops_unknown(store: Any) -> None:
    docs = _docs()
    store.write_documents(docs)
    found = store.get_documents_by_id([docs[2].id, "nope", docs[0].id])
    assert [d.id for d in found] == [docs[2].id, docs[0].id]


def test_delete(store: Any) -> None:
    docs = _docs()
    store.write_documents(docs)
    store.delete_documents([docs[0].id, "unknown"])
    assert [d.id for d in store.filter_documents()] == [docs[1].id, docs[2].id]
    with pytest.raises(DocumentStoreError):
        store.delete_documents(docs[1].id)


@pytest.mark.parametrize("policy", [DuplicatePolicy.NONE, DuplicatePolicy.FAIL])
def test_fail_writes_nothing_of_a_batch_with_a_stored_id(store: Any, policy: DuplicatePolicy) -> None:
    docs = _docs()
    store.write_documents(docs[:1])
    with pytest.raises(DuplicateDocumentError, match=docs[0].id):
        store.write_documents([docs[1], docs[0], docs[2]], policy=policy)
    assert store.count_documents() == 1


def test_fail_refuses_a_batch_repeating_an_id(store: Any) -> None:
    doc = Document("once")
    with pytest.raises(DuplicateDocumentError):
        store.write_documents([doc, doc], policy=DuplicatePolicy.FAIL)
    assert store.count_documents() == 0


def test_skip_keeps_the_stored_and_the_first_in_batch(store: Any) -> None:
    store.write_documents([Document("old", id="a")])
    batch = [Document("new", id="a"), Document("first", id="b"), Document("second", id="b")]
    assert store.write_documents(batch, policy=DuplicatePolicy.SKIP) == 1
    assert {d.id: d.content for d in store.filter_documents()} == {"a": "old", "b": "first"}


def test_overwrite_replaces_and_the_last_in_batch_wins(store: Any) -> None:
    store.write_documents([Document("old", id="a", meta={"v": 1}), Document("keep", id="c")])
    batch = [Document("new", id="a", meta={"v": 2}), Document("first", id="b"), Document("second", id="b")]
    assert store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE) == 2
    stored = store.filter_documents()
    assert [(d.id, d.content) for d in stored] == [("c", "keep"), ("a", "new"), ("b", "second")]
    assert stored[1].meta == {"v": 2}


@pytest.mark.parametrize(
    "bad",
    [
        Document("x", embedding=[1.0, float("nan")]),
        Document("x", embedding=[]),
        Document("x", embedding=[[1.0, 2.0]]),
    ],
)
def test_invalid_documents_write_nothing(store: Any, bad: Document) -> None:
    with pytest.raises(DocumentStoreError):
        store.write_documents([Document("fine"), bad])
    assert store.count_documents() == 0


def test_a_second_dimension_is_refused(store: Any) -> None:
    store.write_documents([Document("x", embedding=[1.0, 2.0])])
    with pytest.raises(DocumentStoreError, match="dimension"):
        store.write_documents([Document("y", embedding=[1.0, 2.0, 3.0])])
    assert store.count_documents() == 1


def test_unknown_policy_and_non_list_input(store: Any) -> None:
    with pytest.raises(DocumentStoreError, match="policy"):
        store.write_documents([Document("x")], policy="replace")
    with pytest.raises(DocumentStoreError):
        store.write_documents(Document("x"))
