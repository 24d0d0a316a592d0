"""What docqa's Haystack retrievers share: a docqa retriever over an adapter's store, Haystack's filter policy."""

from __future__ import annotations

import inspect
from typing import Any

from haystack.document_stores.types import FilterPolicy
from haystack.document_stores.types.filter_policy import apply_filter_policy

from docqa.integrations.haystack.document_store import DocqaDocumentStore, translated_errors
from docqa.integrations.haystack.documents import to_haystack
from docqa.integrations.haystack.serialization import Configured, keyword

#: The parameters every retriever here adds to its docqa retriever's: how run-time filters combine with init ones.
FILTER_POLICY = keyword("filter_policy", FilterPolicy.REPLACE, "FilterPolicy | str")
#: The store parameter, an adapter here instead of a docqa store.
DOCUMENT_STORE = inspect.Parameter(
    "document_store", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="DocqaDocumentStore"
)


class DocqaRetriever(Configured):
    """A Haystack retriever running a docqa retriever (``retriever``) on the docqa store of ``document_store``.

    ``filter_policy`` is Haystack's: ``"replace"`` (run-time filters replace the init ones) or ``"merge"`` (both
    apply, joined with AND).
    """

    def _setup(self, docqa_class: type, settings: dict[str, Any]) -> None:
        store = settings.pop("document_store")
        if not isinstance(store, DocqaDocumentStore):
            raise ValueError(
                f"{type(self).__name__}: document_store must be a docqa store from docqa.integrations.haystack "
                f"(InMemoryDocumentStore, PostgresDocumentStore), got {type(store).__name__}"
            )
        policy = settings.pop("filter_policy")
        self.filter_policy = FilterPolicy.from_str(policy) if isinstance(policy, str) else FilterPolicy(policy)
        self.document_store = store
        self.retriever = docqa_class(store.store, **settings)

    def warm_up(self) -> None:
        """Prepare the docqa retriever (e.g. precompute BM25 scores); queries do it lazily otherwise."""
        self.retriever.warm_up()

    def _retrieve(self, query: Any, filters: dict[str, Any] | None, top_k: int | None) -> dict[str, Any]:
        combined = apply_filter_policy(self.filter_policy, self.retriever.filters, filters)
        with translated_errors():
            found = self.retriever.run(query, top_k=top_k, filters=combined)["documents"]
        return {"documents": [to_haystack(document) for document in found]}
