"""Write documents into a document store: the end of an indexing pipeline (converter -> splitter -> writer)."""

from __future__ import annotations

from typing import Any

from docqa.core.component import component
from docqa.document_stores.base import DocumentStore, DuplicatePolicy, EmbeddingModelRecord, PersistentStore
from docqa.errors import ComponentError
from docqa.schema import Document


def _policy(value: Any, where: str) -> DuplicatePolicy:
    try:
        return DuplicatePolicy(value)
    except ValueError:
        valid = ", ".join(policy.value for policy in DuplicatePolicy)
        raise ComponentError(f"DocumentWriter: {where} must be one of {valid}, not {value!r}") from None


@component
class DocumentWriter:
    """Write the documents it receives into ``document_store`` with duplicate ``policy``; output how many.

    As Haystack's ``DocumentWriter``: ``policy`` is a :class:`~docqa.document_stores.base.DuplicatePolicy` or its
    value (``"skip"``, ``"overwrite"``, ``"fail"``, ``"none"`` = the store's default, FAIL), and ``run`` may
    override it. A store whose writes only last once saved (an ``InMemoryDocumentStore`` with a ``path``) is
    saved after every run. ``embedding_model`` (the embedder's model, if the documents were embedded) is
    recorded in the store, so that queries are embedded alike; a store holding another model's vectors is refused.

    In a pipeline file (see ``examples/indexing.yaml``)::

        writer: {type: DocumentWriter, init_parameters: {document_store: store, policy: skip}}

    >>> from docqa.document_stores import InMemoryDocumentStore
    >>> store = InMemoryDocumentStore()
    >>> writer = DocumentWriter(store, policy="skip")
    >>> writer.run(documents=[Document("Paris is in France."), Document("Paris is in France.")])
    {'documents_written': 1}
    >>> store.count_documents()
    1
    """

    def __init__(
        self,
        document_store: DocumentStore,
        policy: DuplicatePolicy = DuplicatePolicy.NONE,
        embedding_model: str | None = None,
    ) -> None:
        if not isinstance(document_store, DocumentStore):
            raise ComponentError(
                f"DocumentWriter: document_store must be a document store, not {type(document_store).__name__}"
            )
        if embedding_model is not None and not isinstance(embedding_model, str):
            raise ComponentError(f"DocumentWriter: embedding_model must be a model id or path, not {embedding_model!r}")
        self.document_store = document_store
        self.policy = _policy(policy, "policy")
        self.embedding_model = embedding_model

    @component.output_types(documents_written=int)
    def run(self, documents: list[Document], policy: DuplicatePolicy | None = None) -> dict[str, int]:
        chosen = self.policy if policy is None else _policy(policy, "policy")
        self._check_model()
        written = self.document_store.write_documents(documents, policy=chosen)
        if self.embedding_model is not None and isinstance(self.document_store, EmbeddingModelRecord):
            self.document_store.embedding_model = self.embedding_model
        if isinstance(self.document_store, PersistentStore) and getattr(self.document_store, "path", None):
            self.document_store.save()
        return {"documents_written": written}

    def _check_model(self) -> None:
        store = self.document_store
        if self.embedding_model is None or not isinstance(store, EmbeddingModelRecord):
            return
        recorded = store.embedding_model
        if recorded is not None and recorded != self.embedding_model:
            raise ComponentError(
                f"DocumentWriter: the store holds embeddings of {recorded!r}, not {self.embedding_model!r}; "
                "embed with the store's model or write into a new store"
            )
