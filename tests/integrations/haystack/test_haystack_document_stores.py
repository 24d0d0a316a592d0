"""Haystack's own document store test suite (``haystack.testing.document_store``) against both docqa stores.

``DocumentStoreBaseTests`` (count, write and duplicate policies, delete, every filter case) plus the optional
suites for the methods the adapter also offers (delete / update / count by filter), on the in-memory store and on a
real PostgreSQL. One documented difference is mapped, through the hook Haystack's suite provides for it
(``assert_documents_are_equal``): docqa's stores, like pgvector, keep embeddings as float32, so a document read back
carries its embedding rounded to float32, which this comparison checks exactly; everything else must be equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from haystack import Document
from haystack.dataclasses import ByteStream, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    DeleteByFilterTest,
    DocumentStoreBaseTests,
    UpdateByFilterTest,
)

from docqa import errors
from docqa.integrations.haystack import InMemoryDocumentStore


def as_stored(document: Document) -> Document:
    """``document`` as a docqa store returns it: the embedding rounded to float32."""
    data = document.to_dict(flatten=False)
    if document.embedding is not None:
        data["embedding"] = np.asarray(document.embedding, dtype=np.float32).tolist()
    return Document.from_dict(data)


class DocqaStoreSuite(DocumentStoreBaseTests, DeleteByFilterTest, UpdateByFilterTest, CountDocumentsByFilterTest):
    def assert_documents_are_equal(self, received: list[Document], expected: list[Document]) -> None:
        assert received == [as_stored(document) for document in expected]

    def test_write_documents(self, document_store: Any) -> None:
        """The default policy (``NONE``) is ``FAIL`` in docqa's stores, as in Haystack's."""
        document = Document(content="test doc")
        assert document_store.write_documents([document]) == 1
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([document])
        assert document_store.filter_documents() == [document]

    def test_delete_all_documents(self, document_store: Any) -> None:
        document_store.write_documents([Document(content="first", id="1"), Document(content="second", id="2")])
        document_store.delete_all_documents()
        assert document_store.count_documents() == 0
        document_store.write_documents([Document(content="after", id="3")])
        assert [d.id for d in document_store.filter_documents()] == ["3"]

    def test_errors_are_haystack_and_docqa_types(self, document_store: Any) -> None:
        document = Document(content="test doc")
        document_store.write_documents([document])
        with pytest.raises(errors.DuplicateDocumentError, match="duplicate policy FAIL"):
            document_store.write_documents([document], policy=DuplicatePolicy.FAIL)
        with pytest.raises(errors.FilterError):
            document_store.filter_documents({"field": "meta.x", "operator": "~", "value": 1})

    @pytest.mark.parametrize(
        ("document", "message"),
        [
            (Document(id="b", blob=ByteStream(b"%PDF")), "has no text content"),
            (Document(content="text", blob=ByteStream(b"%PDF")), "has a blob"),
            (Document(content="text", sparse_embedding=SparseEmbedding([1], [0.5])), "has a sparse_embedding"),
        ],
    )
    def test_what_docqa_cannot_keep_is_refused_whole(
        self, document_store: Any, document: Document, message: str
    ) -> None:
        with pytest.raises(ValueError, match=f"item 1 .*{message}"):
            document_store.write_documents([Document(content="fine"), document])
        assert document_store.count_documents() == 0


class TestInMemoryDocumentStore(DocqaStoreSuite):
    @pytest.fixture
    def document_store(self) -> InMemoryDocumentStore:
        return InMemoryDocumentStore()


@pytest.mark.heavy
class TestPostgresDocumentStore(DocqaStoreSuite):
    @pytest.fixture
    def document_store(self, make_haystack_pg_store: Any) -> Any:
        return make_haystack_pg_store()
