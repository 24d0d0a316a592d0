"""The document store contract and the duplicate-id policies of ``write_documents``."""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol, runtime_checkable

from docqa.schema import Document


class DuplicatePolicy(str, Enum):
    """What ``write_documents`` does with a document whose id is already stored (or repeated in the batch).

    - ``NONE``: the store's default, which is ``FAIL`` for every docqa store (as in Haystack).
    - ``SKIP``: keep the stored document, ignore the new one (within a batch, the first one wins).
    - ``OVERWRITE``: replace the stored document (within a batch, the last one wins).
    - ``FAIL``: raise :class:`~docqa.errors.DuplicateDocumentError` and write nothing from the batch.
    """

    NONE = "none"
    SKIP = "skip"
    OVERWRITE = "overwrite"
    FAIL = "fail"


@runtime_checkable
class DocumentStore(Protocol):
    """What retrievers and writers need from a store. Filters use the syntax of :mod:`docqa.document_stores.filters`."""

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Store ``documents``; return how many were written."""
        ...

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """All stored documents matching ``filters`` (all documents if ``None``)."""
        ...

    def count_documents(self) -> int: ...

    def delete_documents(self, ids: list[str]) -> None:
        """Delete the documents with these ids; unknown ids are ignored."""
        ...

    def get_documents_by_id(self, ids: list[str]) -> list[Document]:
        """The stored documents with these ids, in the order asked; unknown ids are left out."""
        ...
