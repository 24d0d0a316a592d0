"""docqa's in-memory store (BM25 hundreds of times rank-bm25's speed, exact embedding search) as a Haystack store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docqa.document_stores.in_memory import InMemoryDocumentStore as DocqaInMemoryDocumentStore
from docqa.integrations.haystack.document_store import DocqaDocumentStore, translated_errors
from docqa.integrations.haystack.serialization import init_signature, keyword


@init_signature(DocqaInMemoryDocumentStore, replace={"create": keyword("create", False, "bool")})
class InMemoryDocumentStore(DocqaDocumentStore):
    """A Haystack document store over :class:`docqa.document_stores.InMemoryDocumentStore` (the same parameters).

    ``path`` loads a store saved there (``docqa index``, or :meth:`save`); ``create`` is ``False`` by default here:
    a pipeline loaded from YAML opens its store for reading, so a wrong ``path`` is the error
    ``no document store at PATH`` rather than a silently empty store (pass ``create=True`` to start one there).
    Writes stay in memory until :meth:`save`. A store without ``path`` lives only in its process: a pipeline dumped to
    YAML and loaded again gets a new, empty one. Relative paths are relative to the working directory.

    >>> from haystack import Document
    >>> store = InMemoryDocumentStore()
    >>> store.write_documents([Document(content="Paris is the capital of France.", meta={"lang": "en"})])
    1
    >>> [d.content for d in store.filter_documents({"field": "meta.lang", "operator": "==", "value": "en"})]
    ['Paris is the capital of France.']
    >>> store.to_dict()["init_parameters"]
    {'path': None, 'analyzer': None, 'create': False}
    """

    store: DocqaInMemoryDocumentStore

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with translated_errors():
            self.store = DocqaInMemoryDocumentStore(**self._bind(args, kwargs))

    def save(self, path: str | Path | None = None) -> Path:
        """Save the store atomically to ``path`` (default: its own ``path``); return the directory."""
        with translated_errors():
            return self.store.save(path)
